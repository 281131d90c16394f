"""One scan → one :class:`Identification`: symbology identifier, then format by shape.

With AIM symbology identifiers enabled (PROTOCOLS.md §10) the scanner says what it read: a
``]C0`` Code 128 specimen label, a ``]d2``/``]C1``/``]Q3`` GS1 element string, a ``]Q1`` QR. The
CCCD and BHYT cards are plain QR codes, so they are told apart by shape (field count, card
number) among QR and unprefixed scans only. Anything else is forwarded as a plain barcode: an
unknown label is still a fact the ward may need.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from adapters.canonical.codes import PatientRef
from adapters.canonical.events import Identification, IdentificationSource
from adapters.scanners import bhyt, cccd, gs1
from adapters.scanners.errors import ScanDecodeError

# AIM identifier (ISO/IEC 15424) → symbology name used in Identification.symbology.
AIM_SYMBOLOGIES: dict[str, str] = {
    "]C0": "code128",
    "]C1": "gs1",
    "]d1": "datamatrix",
    "]d2": "gs1",
    "]Q1": "qr",
    "]Q3": "gs1",
    "]E0": "ean13",
    "]E4": "ean8",
    "]e0": "gs1",
}
# Carriers a CCCD or BHYT QR can arrive in: a QR, or a scanner with AIM identifiers turned off.
_CARD_CARRIERS = frozenset({None, "qr"})
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")

CardDecoder = Callable[[list[str]], tuple[dict[str, str], PatientRef]]
# Tried in order; BHYT (nine fields or more) and CCCD (six or seven) cannot both match.
CARD_FORMATS: tuple[tuple[str, Callable[[list[str]], bool], CardDecoder], ...] = (
    ("bhyt-qr", bhyt.looks_like_bhyt, bhyt.decode_bhyt),
    ("cccd-qr", cccd.looks_like_cccd, cccd.decode_cccd),
)


def decode_scan(scan: bytes, encoding: str = "utf-8") -> Identification:
    """Decode one scan (terminator already removed) with the device's text encoding.

    Raises:
        ScanDecodeError: the bytes are not text in ``encoding``, or the scan has the shape of a
            known format but breaks its rules. Its ``reason`` never contains scan content.
    """
    try:
        text = scan.decode(encoding).strip()
    except UnicodeDecodeError as exc:
        raise ScanDecodeError("undecodable") from exc
    aim_id, symbology, data = _split_aim(text)
    fields = {"aim_id": aim_id} if aim_id else {}

    if symbology == "gs1" or (symbology is None and gs1.GS in data):
        if not data:
            raise ScanDecodeError("gs1-empty")
        return _identification("gs1", data, fields | gs1.parse_element_string(data))
    if symbology is None and (bracketed := gs1.parse_bracketed(data)) is not None:
        return _identification("gs1", data, fields | bracketed)
    if symbology in _CARD_CARRIERS:
        parts = data.split("|")
        for name, looks_like, decode in CARD_FORMATS:
            if looks_like(parts):
                card_fields, person = decode(parts)
                return _identification(name, data, fields | card_fields, person)
    return _identification(symbology, data, fields)


def _split_aim(text: str) -> tuple[str | None, str | None, str]:
    """Return (AIM id, symbology, data); an unknown identifier is left in the data."""
    prefix = text[:3]
    if _AIM.fullmatch(prefix) and prefix in AIM_SYMBOLOGIES:
        return prefix, AIM_SYMBOLOGIES[prefix], text[3:]
    return None, None, text


def _identification(
    symbology: str | None,
    data: str,
    fields: dict[str, str],
    person: PatientRef | None = None,
) -> Identification:
    return Identification(
        source=IdentificationSource.BARCODE,
        symbology=symbology,
        data=data,
        fields=fields,
        person=person,
    )
