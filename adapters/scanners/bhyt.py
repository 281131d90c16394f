"""Vietnamese BHYT (health-insurance card) QR (PROTOCOLS.md §13).

``|`` separated and ending in ``|$``; ``-`` marks an empty field. Name, address, parent name and
issuing office are hex-encoded UTF-8. Old cards carry 10 fields (short form) or 15, new
(VssID, 2021+) cards 17. Only card number, name, birth date and sex are documented reliably
enough to become patient facts; the rest goes to ``fields`` by position, as the table says.
"""

from __future__ import annotations

import re
import string
from datetime import date

from adapters.canonical.codes import PatientRef
from adapters.scanners.errors import ScanDecodeError

FIELD_NAMES: tuple[str, ...] = (
    "card_number",
    "name",
    "birth_date",
    "sex",
    "address",
    "registered_clinic",
    "valid_from",
    "valid_to",
    "issue_date",
    "household_code",
    "parent_name",
    "benefit_code",
    "five_years_from",
    "check_string",
    "field_14",  # "4" on new cards; its meaning is not documented publicly
    "issuer",
)
HEX_FIELDS = frozenset({"name", "address", "parent_name", "issuer"})
DATE_FIELDS = frozenset({"valid_from", "valid_to", "issue_date", "five_years_from"})
SEXES = {"1": "male", "2": "female"}
_PERSON_FIELDS = {"name", "birth_date", "sex"}

_CARD_NUMBER = re.compile(r"[A-Z]{2}[1-5]\d{12}|\d{10}")
_FULL_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_YEAR = re.compile(r"\d{4}")  # some elderly people have only a birth year
_MIN_FIELDS = 9


def looks_like_bhyt(parts: list[str]) -> bool:
    """Tell whether split fields have the BHYT shape: a card number first, nine fields or more."""
    return len(parts) >= _MIN_FIELDS and _CARD_NUMBER.fullmatch(parts[0]) is not None


def decode_bhyt(parts: list[str]) -> tuple[dict[str, str], PatientRef]:
    """Return the non-person fields and the person of a BHYT QR.

    Raises:
        ScanDecodeError: the terminator is missing, a hex field is broken, or the birth date or
            sex is not in the card's format.
    """
    if parts[-1].strip() != "$":
        raise ScanDecodeError("bhyt-qr-no-terminator")
    values: dict[str, str] = {}
    for name, part in zip(FIELD_NAMES, parts[:-1], strict=False):
        value = part.strip()
        if value and value != "-":
            values[name] = _unhex(value) if name in HEX_FIELDS else value
    sex = SEXES.get(values.get("sex", ""))
    if sex is None:
        raise ScanDecodeError("bhyt-qr-bad-sex")
    if "name" not in values:
        raise ScanDecodeError("bhyt-qr-no-name")
    values["birth_date"] = _iso_birth_date(values.get("birth_date", ""))
    person = PatientRef(name=values["name"], birth_date=values["birth_date"], sex=sex)
    fields = {
        name: _iso_or_as_sent(value) if name in DATE_FIELDS else value
        for name, value in values.items()
        if name not in _PERSON_FIELDS
    }
    return fields, person


def _unhex(value: str) -> str:
    """Decode hex UTF-8; text that is not hex at all is kept, as some readers pre-decode it."""
    if not all(char in string.hexdigits for char in value):
        return value
    try:
        return bytes.fromhex(value).decode("utf-8")
    except ValueError as exc:  # odd length or not UTF-8
        raise ScanDecodeError("bhyt-qr-bad-hex") from exc


def _iso_birth_date(text: str) -> str:
    if _YEAR.fullmatch(text):
        return text
    iso = _iso_date(text)
    if iso is None:
        raise ScanDecodeError("bhyt-qr-bad-date")
    return iso


def _iso_or_as_sent(text: str) -> str:
    """Card validity dates are informative, so an odd one is kept rather than rejected."""
    return _iso_date(text) or text


def _iso_date(text: str) -> str | None:
    match = _FULL_DATE.fullmatch(text)
    if match is None:
        return None
    day, month, year = (int(group) for group in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
