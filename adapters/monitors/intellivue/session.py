"""The host's side of a Data Export association, sans-IO (PROTOCOLS §9.2-§9.8).

PDUs go in with :meth:`IntelliVueSession.receive_pdu` (one whole PDU: a UDP datagram or a
deframed MIB/RS232 frame), time with :meth:`~IntelliVueSession.handle_timeout` at
:meth:`~IntelliVueSession.next_deadline`; :meth:`~IntelliVueSession.pdus_to_send` and
:meth:`~IntelliVueSession.events` come out. (state, input) pairs map to handlers in
:data:`_TRANSITIONS`, as in ``adapters/astm/link.py``; a pair not in the table is ignored.
The cycle:

1. Association Request; the Association Result accepts (``0E``) or refuses (``0C``; try again
   after ``retry_s``). No answer within ``association_timeout_s``: ask again.
2. The monitor sends its MDS Create Event Report; we answer with the MDS Create Event Result
   (again whenever it is repeated) and report :class:`Associated`.
3. Every ``poll_interval_s`` an extended poll for numerics and one for alarms. Results may come
   as linked parts (``ROLRS``) ended by one ``RORS``; the parts are joined per invoke id.
   Alarms are reported as changes (start when an alarm appears in the lists, end when it
   leaves), so a standing alarm is not repeated every second.
4. Keep-alive: the monitor drops an association after 10 s without a message when the poll
   period is under 3.3 s (Programming Guide, "PollProfileSupport"); polls keep it alive, and a
   single MDS poll is sent when nothing was sent for ``keep_alive_s`` (corpus ``keep_alive_msg``).
5. Watchdog: nothing heard for ``silence_timeout_s``, an Abort or a Release Request from the
   monitor: :class:`Lost`, then associate again.
6. :meth:`~IntelliVueSession.close` sends a Release Request; the Release Result (or
   ``release_timeout_s``) ends it with :class:`Released`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.association import (
    Abort,
    AssociationAccepted,
    AssociationRefused,
    ReleaseRequest,
    ReleaseResult,
    UserInfo,
    decode_association,
    encode_abort,
    encode_association_request,
    encode_release_request,
    encode_release_result,
    is_association_pdu,
)
from adapters.monitors.intellivue.attributes import (
    AlarmEntry,
    alarms_of,
    find,
    numerics_of,
    read_absolute_time,
    read_u32,
)
from adapters.monitors.intellivue.pdu import (
    MdsCreateReport,
    ObservationPoll,
    PollRequest,
    PollResult,
    decode_data_export,
    encode_mds_create_result,
    encode_poll_request,
)
from adapters.monitors.intellivue.session_events import (
    AlarmChange,
    Alarms,
    Associated,
    Lost,
    NumericReading,
    Numerics,
    PduRejected,
    Released,
    SessionEvent,
)
from adapters.monitors.intellivue.wire import PduError


@dataclass(frozen=True)
class SessionConfig:
    poll_interval_s: float = 1.0
    keep_alive_s: float = 5.0
    silence_timeout_s: float = 10.0
    association_timeout_s: float = 5.0
    retry_s: float = 5.0
    release_timeout_s: float = 2.0
    poll_alarms: bool = True
    user_info: UserInfo = field(default_factory=UserInfo)


class State(enum.Enum):
    IDLE = "idle"
    ASSOCIATING = "associating"
    AWAITING_MDS = "awaiting_mds"
    POLLING = "polling"
    RELEASING = "releasing"
    CLOSED = "closed"


class _Input(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    MDS_CREATE = "mds_create"
    POLL_RESULT = "poll_result"
    RELEASE_REQUEST = "release_request"
    RELEASE_RESULT = "release_result"
    ABORT = "abort"
    TIMEOUT = "timeout"


_ASSOCIATION_INPUTS: dict[type, _Input] = {
    AssociationAccepted: _Input.ACCEPTED,
    AssociationRefused: _Input.REFUSED,
    ReleaseRequest: _Input.RELEASE_REQUEST,
    ReleaseResult: _Input.RELEASE_RESULT,
    Abort: _Input.ABORT,
}
_TICKS = nom.RELATIVE_TICKS_PER_SECOND


@dataclass
class _Pending:
    object_type: int
    parts: list[ObservationPoll] = field(default_factory=list)


class IntelliVueSession:
    """One association with one monitor: PDUs and time in, PDUs and events out."""

    def __init__(self, config: SessionConfig | None = None, *, bed_label: str | None = None):
        self._config = config or SessionConfig()
        self._default_bed = bed_label
        self._bed = bed_label
        self._state = State.IDLE
        self._deadline: float | None = None
        self._out: list[bytes] = []
        self._events: list[SessionEvent] = []
        self._invoke_id = 0
        self._pending: dict[int, _Pending] = {}
        self._alarms: dict[tuple[bool, int, int, int, int | None], AlarmEntry] = {}
        self._clock: tuple[datetime, int] | None = None
        self._user_info: UserInfo | None = None
        self._next_poll = self._last_sent = self._last_heard = 0.0

    @property
    def state(self) -> State:
        return self._state

    def start(self, now: float) -> None:
        """Ask for an association (harmless when one is already under way)."""
        if self._state in (State.IDLE, State.CLOSED):
            self._associate(None, now)

    def close(self, now: float) -> None:
        """Release the association; :class:`Released` follows."""
        if self._state in (State.POLLING, State.AWAITING_MDS):
            self._send(encode_release_request(), now)
            self._enter(State.RELEASING, now + self._config.release_timeout_s)
        elif self._state is not State.CLOSED:
            self._finish()

    def receive_pdu(self, data: bytes, now: float) -> None:
        """Feed one whole PDU from the monitor."""
        try:
            kind, pdu = self._classify(data)
        except PduError as exc:
            self._events.append(PduRejected(str(exc), data))
            return
        self._last_heard = now
        if kind is not None:
            self._dispatch(kind, pdu, now)

    def handle_timeout(self, now: float) -> None:
        """Act on the deadline if it has passed; harmless when called early."""
        deadline = self.next_deadline()
        if deadline is not None and now >= deadline:
            self._dispatch(_Input.TIMEOUT, None, now)

    def next_deadline(self) -> float | None:
        if self._state is not State.POLLING:
            return self._deadline
        config = self._config
        return min(
            self._next_poll,
            self._last_sent + config.keep_alive_s,
            self._last_heard + config.silence_timeout_s,
        )

    def pdus_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def events(self) -> list[SessionEvent]:
        events, self._events = self._events, []
        return events

    def _classify(self, data: bytes) -> tuple[_Input | None, object]:
        if is_association_pdu(data):
            association = decode_association(data)
            return _ASSOCIATION_INPUTS.get(type(association)), association
        pdu = decode_data_export(data)
        if isinstance(pdu, MdsCreateReport):
            return _Input.MDS_CREATE, pdu
        if isinstance(pdu, PollResult):
            return _Input.POLL_RESULT, pdu
        return None, pdu

    def _dispatch(self, kind: _Input, pdu: object, now: float) -> None:
        handler = _TRANSITIONS.get((self._state, kind))
        if handler is not None:
            handler(self, pdu, now)

    def _send(self, pdu: bytes, now: float) -> None:
        self._out.append(pdu)
        self._last_sent = now

    def _enter(self, state: State, deadline: float | None) -> None:
        self._state, self._deadline = state, deadline

    def _next_invoke_id(self) -> int:
        self._invoke_id = (self._invoke_id + 1) % 0x10000
        return self._invoke_id

    def _associate(self, _pdu: object, now: float) -> None:
        self._pending.clear()
        self._alarms.clear()
        self._bed, self._clock = self._default_bed, None
        self._send(encode_association_request(self._config.user_info), now)
        self._enter(State.ASSOCIATING, now + self._config.association_timeout_s)

    def _on_accepted(self, pdu: object, now: float) -> None:
        assert isinstance(pdu, AssociationAccepted)
        self._user_info = pdu.user_info
        self._enter(State.AWAITING_MDS, now + self._config.association_timeout_s)

    def _on_refused(self, _pdu: object, now: float) -> None:
        self._events.append(Lost("association refused"))
        self._enter(State.IDLE, now + self._config.retry_s)

    def _on_mds_create(self, pdu: object, now: float) -> None:
        assert isinstance(pdu, MdsCreateReport)
        self._send(encode_mds_create_result(pdu), now)
        self._bed = pdu.bed_label or self._default_bed
        self._clock = pdu.clock
        if self._state is State.AWAITING_MDS:
            self._events.append(Associated(self._bed, self._user_info))
            self._enter(State.POLLING, None)
            self._next_poll = now

    def _on_no_mds(self, _pdu: object, now: float) -> None:
        self._lose("no MDS Create Event Report", now, abort=True)

    def _on_aborted(self, _pdu: object, now: float) -> None:
        self._lose("aborted by the monitor", now)

    def _on_release_request(self, _pdu: object, now: float) -> None:
        self._send(encode_release_result(), now)
        self._lose("released by the monitor", now)

    def _lose(self, reason: str, now: float, *, abort: bool = False) -> None:
        if abort:
            self._send(encode_abort(), now)
        self._events.append(Lost(reason))
        self._enter(State.IDLE, now + self._config.retry_s)

    def _on_polling_timer(self, _pdu: object, now: float) -> None:
        config = self._config
        if now >= self._last_heard + config.silence_timeout_s:
            self._lose(f"nothing heard for {config.silence_timeout_s:g} s", now, abort=True)
            return
        if now >= self._next_poll:
            self._poll(nom.NOM_MOC_VMO_METRIC_NU, now)
            if config.poll_alarms:
                self._poll(nom.NOM_MOC_VMO_AL_MON, now)
            self._next_poll = max(self._next_poll + config.poll_interval_s, now)
        elif now >= self._last_sent + config.keep_alive_s:
            request = PollRequest(self._next_invoke_id(), 1, nom.NOM_MOC_VMS_MDS)
            self._send(encode_poll_request(request), now)

    def _poll(self, object_type: int, now: float) -> None:
        for invoke_id in [i for i, p in self._pending.items() if p.object_type == object_type]:
            del self._pending[invoke_id]  # its result never completed; a new poll replaces it
        invoke_id = self._next_invoke_id()
        self._pending[invoke_id] = _Pending(object_type)
        request = PollRequest(invoke_id, invoke_id, object_type, extended=True)
        self._send(encode_poll_request(request), now)

    def _on_poll_result(self, pdu: object, _now: float) -> None:
        assert isinstance(pdu, PollResult)
        pending = self._pending.get(pdu.invoke_id)
        if pending is None:
            return
        pending.parts += pdu.observations
        if pdu.linked is not None:
            return
        del self._pending[pdu.invoke_id]
        measured_at = self._time_of(pdu)
        if pending.object_type == nom.NOM_MOC_VMO_METRIC_NU:
            values = [r for o in pending.parts for r in _readings(o)]
            self._events.append(Numerics(self._bed, measured_at, values))
        elif pending.object_type == nom.NOM_MOC_VMO_AL_MON:
            self._alarm_changes(pending.parts, measured_at)

    def _time_of(self, result: PollResult) -> datetime | None:
        if result.absolute_time is not None:
            return result.absolute_time
        if self._clock is None:
            return None
        base, ticks = self._clock
        return base + timedelta(seconds=((result.relative_time - ticks) % 2**32) / _TICKS)

    def _alarm_changes(self, parts: list[ObservationPoll], at: datetime | None) -> None:
        current = {
            e.key: e for o in parts for e in alarms_of(o.attributes) if e.alert_type != nom.NO_ALERT
        }
        changes = [AlarmChange(e, "start") for k, e in current.items() if k not in self._alarms]
        changes += [AlarmChange(e, "end") for k, e in self._alarms.items() if k not in current]
        self._alarms = current
        if changes:
            self._events.append(Alarms(self._bed, at, changes))

    def _on_release_result(self, _pdu: object, _now: float) -> None:
        self._finish()

    def _finish(self) -> None:
        self._enter(State.CLOSED, None)
        self._events.append(Released())


def _readings(observation: ObservationPoll) -> list[NumericReading]:
    attributes = observation.attributes
    label_value = find(attributes, nom.NOM_ATTR_ID_LABEL)
    label = read_u32(label_value) if label_value is not None else None
    time_value = find(attributes, nom.NOM_ATTR_TIME_STAMP_ABS)
    observed_at = read_absolute_time(time_value) if time_value is not None else None
    return [
        NumericReading(n.physio_id, label, n.value, n.unit_code, n.state, observed_at)
        for n in numerics_of(attributes)
    ]


_Handler = Callable[[IntelliVueSession, object, float], None]

_TRANSITIONS: dict[tuple[State, _Input], _Handler] = {
    (State.IDLE, _Input.TIMEOUT): IntelliVueSession._associate,
    (State.ASSOCIATING, _Input.ACCEPTED): IntelliVueSession._on_accepted,
    (State.ASSOCIATING, _Input.REFUSED): IntelliVueSession._on_refused,
    (State.ASSOCIATING, _Input.ABORT): IntelliVueSession._on_refused,
    (State.ASSOCIATING, _Input.TIMEOUT): IntelliVueSession._associate,
    (State.AWAITING_MDS, _Input.MDS_CREATE): IntelliVueSession._on_mds_create,
    (State.AWAITING_MDS, _Input.ABORT): IntelliVueSession._on_aborted,
    (State.AWAITING_MDS, _Input.TIMEOUT): IntelliVueSession._on_no_mds,
    (State.POLLING, _Input.MDS_CREATE): IntelliVueSession._on_mds_create,
    (State.POLLING, _Input.POLL_RESULT): IntelliVueSession._on_poll_result,
    (State.POLLING, _Input.ABORT): IntelliVueSession._on_aborted,
    (State.POLLING, _Input.RELEASE_REQUEST): IntelliVueSession._on_release_request,
    (State.POLLING, _Input.TIMEOUT): IntelliVueSession._on_polling_timer,
    (State.RELEASING, _Input.RELEASE_RESULT): IntelliVueSession._on_release_result,
    (State.RELEASING, _Input.ABORT): IntelliVueSession._on_release_result,
    (State.RELEASING, _Input.TIMEOUT): IntelliVueSession._on_release_result,
}
"""(state, input) -> handler; missing pairs are ignored (a stale result, a second accept)."""
