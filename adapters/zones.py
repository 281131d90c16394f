"""The zone of a device's clock, for times it sends without an offset (docs/mqtt-contract.md).

The rule, in order: the offset the message states (HL7 MSH-7 or the time itself), else the
device's ``timezone`` option (an IANA name such as ``Asia/Ho_Chi_Minh``, checked at load), else
the gateway host's zone. The codecs apply the first step; runners pass them :func:`device_zone`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # scans the tz database: once per process


def _check_zone(name: str) -> str:
    # ZoneInfo also opens file paths and odd keys; only the names of the tz database count.
    if name not in _known_zones():
        raise ValueError("is not an IANA time zone name; e.g. Asia/Ho_Chi_Minh, Europe/Paris")
    return name


ZoneName = Annotated[str, AfterValidator(_check_zone)]


class ZoneOptions(BaseModel):
    """The ``timezone`` option every kind whose messages carry times shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: ZoneName | None = Field(
        default=None,
        description="the device clock's IANA zone for times sent without an offset "
        "(default: the gateway host's zone)",
    )


def gateway_zone() -> tzinfo:
    """The host's current zone (its UTC offset now; Vietnam keeps no daylight saving)."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always attaches one
    return zone


def device_zone(name: str | None) -> tzinfo:
    """The device's configured zone, else the gateway's."""
    if name is None:
        return gateway_zone()
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # validated at load; the tz data vanished since
        return gateway_zone()
