"""HL7 v2 TS/DTM values to datetimes: ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``.

Analyzer clocks often omit the offset. HL7 says such a time is in the sender's local zone, so the
caller passes that zone (the offset of MSH-7 when the device sent one, else the site's zone):
canonical events carry aware datetimes only, because the envelope schema's ``date-time`` needs
an offset. Anything that does not parse gives ``None``: a wrong clock must not reject a result.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

# Where the wards are: times a device sends without an offset are read in this zone.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")

_TS = re.compile(
    r"(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?(?P<hour>\d{2})?(?P<minute>\d{2})?"
    r"(?P<second>\d{2})?(?:\.(?P<fraction>\d{1,6}))?(?P<offset>[+-]\d{4})?"
)


def ts_zone(text: str) -> tzinfo | None:
    """The fixed offset written in a TS value, or ``None`` when it has none (or a bad one)."""
    match = _TS.fullmatch(text.strip())
    return _zone(match["offset"]) if match and match["offset"] else None


@lru_cache(maxsize=1024)
def parse_ts(text: str, local_zone: tzinfo) -> datetime | None:
    """An aware datetime; ``local_zone`` applies when the value carries no offset.

    Cached: a monitor repeats one timestamp in MSH-7, OBR-7 and every OBX-14 of a message.
    """
    match = _TS.fullmatch(text.strip())
    if match is None or (match["fraction"] and not match["second"]):
        return None
    zone = _zone(match["offset"]) if match["offset"] else local_zone
    if zone is None:
        return None
    try:
        return datetime(
            int(match["year"]),
            int(match["month"] or 1),
            int(match["day"] or 1),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int((match["fraction"] or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """The ISO date of a TS value with at least day precision (birth dates), else ``None``."""
    match = _TS.fullmatch(text.strip())
    if match is None or match["day"] is None:
        return None
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"])).isoformat()
    except ValueError:
        return None


def _zone(offset: str) -> tzinfo | None:
    hours, minutes = int(offset[1:3]), int(offset[3:5])
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if offset[0] == "-" else delta)
