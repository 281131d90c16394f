"""The host session's polls and what their results mean, sans-IO.

:class:`PollTracker` numbers the poll requests the session sends, joins a result's linked parts
(``ROLRS``, ended by one ``RORS``) per invoke id, and turns a whole result into one event:
:class:`Numerics` for a numerics poll, :class:`Alarms` for an alarm poll. Alarms are reported as
changes (start when an alarm appears in the lists, end when it leaves), so a standing alarm is
not repeated every second. Timing, association and state stay in
:mod:`adapters.monitors.intellivue.session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import (
    AlarmEntry,
    alarms_of,
    find,
    numerics_of,
    read_absolute_time,
    read_u32,
)
from adapters.monitors.intellivue.pdu import (
    ObservationPoll,
    PollRequest,
    PollResult,
    encode_poll_request,
)
from adapters.monitors.intellivue.session_events import (
    AlarmChange,
    Alarms,
    NumericReading,
    Numerics,
)

_TICKS = nom.RELATIVE_TICKS_PER_SECOND

MonitorClock = tuple[datetime, int]
"""The MDS Create report's absolute time and the relative time (ticks) it was taken at."""


@dataclass
class _Pending:
    object_type: int
    parts: list[ObservationPoll] = field(default_factory=list)


class PollTracker:
    """Outstanding polls of one association and the alarms standing at the last alarm poll."""

    def __init__(self) -> None:
        self._invoke_id = 0
        self._pending: dict[int, _Pending] = {}
        self._alarms: dict[tuple[bool, int, int, int, int | None], AlarmEntry] = {}

    def reset(self) -> None:
        """Forget outstanding polls and standing alarms: a new association starts clean."""
        self._pending.clear()
        self._alarms.clear()

    def keep_alive(self) -> bytes:
        """A single MDS poll, sent only so the monitor hears from us."""
        return encode_poll_request(PollRequest(self._next_invoke_id(), 1, nom.NOM_MOC_VMS_MDS))

    def extended_poll(self, object_type: int) -> bytes:
        """An extended poll for ``object_type``, replacing one of that type still outstanding."""
        for invoke_id in [i for i, p in self._pending.items() if p.object_type == object_type]:
            del self._pending[invoke_id]  # its result never completed; a new poll replaces it
        invoke_id = self._next_invoke_id()
        self._pending[invoke_id] = _Pending(object_type)
        return encode_poll_request(PollRequest(invoke_id, invoke_id, object_type, extended=True))

    def collect(
        self, result: PollResult, bed: str | None, clock: MonitorClock | None
    ) -> Numerics | Alarms | None:
        """Take one result or part; the event once a whole result is in and says something."""
        pending = self._pending.get(result.invoke_id)
        if pending is None:
            return None
        pending.parts += result.observations
        if result.linked is not None:
            return None
        del self._pending[result.invoke_id]
        measured_at = _time_of(result, clock)
        if pending.object_type == nom.NOM_MOC_VMO_METRIC_NU:
            values = [r for o in pending.parts for r in _readings(o)]
            return Numerics(bed, measured_at, values)
        if pending.object_type == nom.NOM_MOC_VMO_AL_MON:
            return self._alarm_changes(pending.parts, bed, measured_at)
        return None

    def _next_invoke_id(self) -> int:
        self._invoke_id = (self._invoke_id + 1) % 0x10000
        return self._invoke_id

    def _alarm_changes(
        self, parts: list[ObservationPoll], bed: str | None, at: datetime | None
    ) -> Alarms | None:
        current = {
            e.key: e for o in parts for e in alarms_of(o.attributes) if e.alert_type != nom.NO_ALERT
        }
        changes = [AlarmChange(e, "start") for k, e in current.items() if k not in self._alarms]
        changes += [AlarmChange(e, "end") for k, e in self._alarms.items() if k not in current]
        self._alarms = current
        return Alarms(bed, at, changes) if changes else None


def _time_of(result: PollResult, clock: MonitorClock | None) -> datetime | None:
    if result.absolute_time is not None:
        return result.absolute_time
    if clock is None:
        return None
    base, ticks = clock
    return base + timedelta(seconds=((result.relative_time - ticks) % 2**32) / _TICKS)


def _readings(observation: ObservationPoll) -> list[NumericReading]:
    attributes = observation.attributes
    label_value = find(attributes, nom.NOM_ATTR_ID_LABEL)
    label = read_u32(label_value) if label_value is not None else None
    time_value = find(attributes, nom.NOM_ATTR_TIME_STAMP_ABS)
    observed_at = read_absolute_time(time_value) if time_value is not None else None
    return [
        NumericReading(n.physio_id, label, n.value, n.unit_code, n.state, observed_at, n.exact)
        for n in numerics_of(attributes)
    ]
