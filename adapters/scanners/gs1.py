"""GS1 element strings (GS1 General Specifications §7.8; PROTOCOLS.md §10).

An element string is a run of (AI, value) pairs. Fixed-length AIs need no separator; a
variable-length value ends at a GS (0x1D, the transmitted FNC1) or at the end of the data. The AI
table holds what a ward sees on drug packs and devices; an AI missing from it stops parsing and
the rest is kept in ``unparsed`` rather than guessed, since its length is unknown.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from adapters.scanners.errors import ScanDecodeError

GS = "\x1d"
# Text some scanners send instead of GS when set up for keyboard output (PROTOCOLS.md §10).
# ``|`` is also seen but is left alone: CCCD and BHYT QR codes use it as their separator.
GS_SUBSTITUTES = ("<GS>", "[FNC1]")


@dataclass(frozen=True)
class _Ai:
    name: str
    length: int | None  # None: variable, ends at GS
    max_length: int
    is_date: bool = False


AI_TABLE: dict[str, _Ai] = {
    "00": _Ai("sscc", 18, 18),
    "01": _Ai("gtin", 14, 14),
    "02": _Ai("content_gtin", 14, 14),
    "10": _Ai("lot", None, 20),
    "11": _Ai("production_date", 6, 6, is_date=True),
    "17": _Ai("expiry", 6, 6, is_date=True),
    "21": _Ai("serial", None, 20),
    "30": _Ai("count", None, 8),
    "90": _Ai("internal_90", None, 30),
    "91": _Ai("internal_91", None, 90),
    "92": _Ai("internal_92", None, 90),
    "98": _Ai("internal_98", None, 90),
    "99": _Ai("internal_99", None, 90),
}

_BRACKETED = re.compile(r"\((\d{2,4})\)([^(]*)")


def parse_element_string(data: str) -> dict[str, str]:
    """Decode a GS-separated element string into named fields; dates become ISO dates.

    Raises:
        ScanDecodeError: a value breaks its AI's length, check-digit or date rule.
    """
    for token in GS_SUBSTITUTES:
        data = data.replace(token, GS)
    fields: dict[str, str] = {}
    position = 1 if data.startswith(GS) else 0  # some scanners transmit the leading FNC1
    while position < len(data):
        ai = AI_TABLE.get(data[position : position + 2])
        if ai is None:
            fields["unparsed"] = data[position:]
            break
        position += 2
        if ai.length is None:
            end = data.find(GS, position)
            end = len(data) if end < 0 else end
            value, position = data[position:end], end + 1
        else:
            value, position = data[position : position + ai.length], position + ai.length
            if data.startswith(GS, position):
                position += 1  # a GS after a fixed-length AI is allowed and meaningless
        fields[ai.name] = _checked(ai, value)
    return fields


def parse_bracketed(data: str) -> dict[str, str] | None:
    """Decode the human-readable form ``(01)...(17)...``; None when ``data`` is not in it."""
    pairs = _BRACKETED.findall(data)
    if not pairs or "".join(f"({ai}){value}" for ai, value in pairs) != data:
        return None
    return parse_element_string(GS.join(ai + value for ai, value in pairs))


def _checked(ai: _Ai, value: str) -> str:
    if not value or len(value) > ai.max_length or (ai.length and len(value) != ai.length):
        raise ScanDecodeError("gs1-bad-length")
    if ai.name.endswith("gtin") and not _gtin_check_digit_ok(value):
        raise ScanDecodeError("gs1-bad-check-digit")
    return _iso_date(value) if ai.is_date else value


def _gtin_check_digit_ok(gtin: str) -> bool:
    if not gtin.isdigit():
        return False
    # Weights 3,1,3,... from the digit left of the check digit, right to left.
    body = gtin[-2::-1]
    weighted = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body))
    return (10 - weighted % 10) % 10 == int(gtin[-1])


def _iso_date(yymmdd: str) -> str:
    """YYMMDD to ISO; DD=00 means the month's last day.

    GS1's sliding century window needs today's date, which a pure decoder does not have; 20YY is
    right for every expiry and production date a ward will see before 2100.
    """
    if not yymmdd.isdigit():
        raise ScanDecodeError("gs1-bad-date")
    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if not 1 <= month <= 12:
        raise ScanDecodeError("gs1-bad-date")
    last = calendar.monthrange(year, month)[1]
    if day > last:
        raise ScanDecodeError("gs1-bad-date")
    return f"{year:04d}-{month:02d}-{day or last:02d}"
