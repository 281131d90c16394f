"""Vietnamese CCCD (citizen ID) back-of-card QR (PROTOCOLS.md §11).

Plain text, ``|`` separated, no checksum. The card has 7 fields; one repo documents an older
6-field form without the old-ID field, told apart by the field count. Scanner middleware may
reformat dates to ``DD/MM/YYYY`` or prefix each field with a ``Label:``; both are accepted.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from adapters.canonical.codes import PatientRef
from adapters.scanners.errors import ScanDecodeError

LAYOUTS: dict[int, tuple[str, ...]] = {
    7: ("national_id", "old_id", "name", "birth_date", "sex", "address", "issue_date"),
    6: ("national_id", "name", "birth_date", "sex", "address", "issue_date"),
}
SEXES = {"nam": "male", "nữ": "female"}
_PERSON_FIELDS = {"national_id", "name", "birth_date", "sex"}

_NATIONAL_ID = re.compile(r"\d{12}")
_OLD_ID = re.compile(r"(\d{9})?")
_LABEL = re.compile(r"^[^\d:|][^:|]{0,30}:")
_DATE = re.compile(r"(\d{2})/?(\d{2})/?(\d{4})")


def looks_like_cccd(parts: list[str]) -> bool:
    """Tell whether split fields have the CCCD shape: 6 or 7 fields, the first a number."""
    return len(parts) in LAYOUTS and _LABEL.sub("", parts[0]).strip().isdigit()


def decode_cccd(parts: list[str]) -> tuple[dict[str, str], PatientRef]:
    """Return the non-person fields and the person of a CCCD QR.

    Raises:
        ScanDecodeError: a field breaks the card's format (the QR is then not trusted at all).
    """
    labelled = _LABEL.match(parts[0]) is not None
    values = {
        name: (_LABEL.sub("", part) if labelled else part).strip()
        for name, part in zip(LAYOUTS[len(parts)], parts, strict=True)
    }
    if not _NATIONAL_ID.fullmatch(values["national_id"]):
        raise ScanDecodeError("cccd-qr-bad-id")
    if not _OLD_ID.fullmatch(values.get("old_id", "")):
        raise ScanDecodeError("cccd-qr-bad-old-id")
    if not values["name"]:
        raise ScanDecodeError("cccd-qr-no-name")
    if _is_mojibake(values["name"]):
        raise ScanDecodeError("cccd-qr-mojibake")
    sex = SEXES.get(unicodedata.normalize("NFC", values["sex"]).casefold())
    if sex is None:
        raise ScanDecodeError("cccd-qr-bad-sex")
    values["birth_date"] = _iso_date(values["birth_date"])
    values["issue_date"] = _iso_date(values["issue_date"])
    person = PatientRef(
        national_id=values["national_id"],
        name=values["name"],
        birth_date=values["birth_date"],
        sex=sex,
    )
    fields = {name: value for name, value in values.items() if name not in _PERSON_FIELDS and value}
    return fields, person


def _is_mojibake(text: str) -> bool:
    """Spot UTF-8 that was read as cp1252 on the way (a keyboard-wedge scanner, §11).

    Such text re-encodes to cp1252 bytes that are valid UTF-8; real Vietnamese letters such as
    "ễ" or "ă" have no cp1252 form, so a correctly decoded name fails the round trip.
    """
    if text.isascii():
        return False
    try:
        text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return False
    return True


def _iso_date(text: str) -> str:
    match = _DATE.fullmatch(text)
    if match is None:
        raise ScanDecodeError("cccd-qr-bad-date")
    day, month, year = (int(group) for group in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError as exc:
        raise ScanDecodeError("cccd-qr-bad-date") from exc
