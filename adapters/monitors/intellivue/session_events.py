"""What a host session reports: numerics, alarm changes, and the association's ups and downs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from adapters.monitors.intellivue.association import UserInfo
from adapters.monitors.intellivue.attributes import AlarmEntry


@dataclass(frozen=True, slots=True)
class NumericReading:
    physio_id: int
    label: int | None
    value: float | None
    unit_code: int
    state: int
    observed_at: datetime | None = None
    exact: Decimal | None = None
    """The value with the monitor's digits (FLOAT-Type mantissa and exponent)."""


@dataclass(frozen=True, slots=True)
class Numerics:
    """One poll's numerics; ``measured_at`` is the monitor's clock (no zone), when known."""

    bed_label: str | None
    measured_at: datetime | None
    values: list[NumericReading] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AlarmChange:
    entry: AlarmEntry
    phase: Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Alarms:
    """Alarms that appeared in (``start``) or left (``end``) the monitor's alarm lists."""

    bed_label: str | None
    measured_at: datetime | None
    changes: list[AlarmChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Associated:
    bed_label: str | None
    user_info: UserInfo | None


@dataclass(frozen=True, slots=True)
class Lost:
    """The association ended or never came; the session associates again by itself."""

    reason: str


@dataclass(frozen=True, slots=True)
class Released:
    """The association was released on :meth:`~.session.IntelliVueSession.close`."""


@dataclass(frozen=True, slots=True)
class PduRejected:
    """Bytes from the monitor that are not a PDU we can read (no patient data in ``reason``)."""

    reason: str
    data: bytes


SessionEvent = Numerics | Alarms | Associated | Lost | Released | PduRejected
