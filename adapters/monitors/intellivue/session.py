"""The host's side of a Data Export association, sans-IO (PROTOCOLS §9.2-§9.8).

PDUs go in with :meth:`IntelliVueSession.receive_pdu` (one whole PDU: a UDP datagram or a
deframed MIB/RS232 frame), time with :meth:`~IntelliVueSession.handle_timeout` at
:meth:`~IntelliVueSession.next_deadline`; :meth:`~IntelliVueSession.pdus_to_send` and
:meth:`~IntelliVueSession.events` come out. (state, input) pairs map to handlers in
:data:`_TRANSITIONS`, as in ``adapters/astm/link_receiver.py``; a pair not in the table is
ignored. :mod:`~adapters.monitors.intellivue.session_inputs` names what arrives and
:mod:`~adapters.monitors.intellivue.session_polls` reads the poll results. The cycle:

1. Association Request; the Association Result accepts (``0E``) or refuses (``0C``; try again
   after ``retry_s``). No answer within ``association_timeout_s``: ask again.
2. The monitor sends its MDS Create Event Report; we answer with the MDS Create Event Result
   (again whenever it is repeated) and report :class:`Associated`.
3. Every ``poll_interval_s`` an extended poll for numerics and one for alarms; their results,
   whole or in linked parts, become :class:`Numerics` and :class:`Alarms` (changes only).
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

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.association import (
    AssociationAccepted,
    UserInfo,
    encode_abort,
    encode_association_request,
    encode_release_request,
    encode_release_result,
)
from adapters.monitors.intellivue.pdu import MdsCreateReport, PollResult, encode_mds_create_result
from adapters.monitors.intellivue.session_events import (
    Associated,
    Lost,
    PduRejected,
    Released,
    SessionEvent,
)
from adapters.monitors.intellivue.session_inputs import SessionInput, classify
from adapters.monitors.intellivue.session_polls import MonitorClock, PollTracker
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
        self._polls = PollTracker()
        self._clock: MonitorClock | None = None
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
            kind, pdu = classify(data)
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
            self._dispatch(SessionInput.TIMEOUT, None, now)

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

    def _dispatch(self, kind: SessionInput, pdu: object, now: float) -> None:
        handler = _TRANSITIONS.get((self._state, kind))
        if handler is not None:
            handler(self, pdu, now)

    def _send(self, pdu: bytes, now: float) -> None:
        self._out.append(pdu)
        self._last_sent = now

    def _enter(self, state: State, deadline: float | None) -> None:
        self._state, self._deadline = state, deadline

    def _associate(self, _pdu: object, now: float) -> None:
        self._polls.reset()
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
            self._send(self._polls.extended_poll(nom.NOM_MOC_VMO_METRIC_NU), now)
            if config.poll_alarms:
                self._send(self._polls.extended_poll(nom.NOM_MOC_VMO_AL_MON), now)
            self._next_poll = max(self._next_poll + config.poll_interval_s, now)
        elif now >= self._last_sent + config.keep_alive_s:
            self._send(self._polls.keep_alive(), now)

    def _on_poll_result(self, pdu: object, _now: float) -> None:
        assert isinstance(pdu, PollResult)
        event = self._polls.collect(pdu, self._bed, self._clock)
        if event is not None:
            self._events.append(event)

    def _on_release_result(self, _pdu: object, _now: float) -> None:
        self._finish()

    def _finish(self) -> None:
        self._enter(State.CLOSED, None)
        self._events.append(Released())


_Handler = Callable[[IntelliVueSession, object, float], None]

_TRANSITIONS: dict[tuple[State, SessionInput], _Handler] = {
    (State.IDLE, SessionInput.TIMEOUT): IntelliVueSession._associate,
    (State.ASSOCIATING, SessionInput.ACCEPTED): IntelliVueSession._on_accepted,
    (State.ASSOCIATING, SessionInput.REFUSED): IntelliVueSession._on_refused,
    (State.ASSOCIATING, SessionInput.ABORT): IntelliVueSession._on_refused,
    (State.ASSOCIATING, SessionInput.TIMEOUT): IntelliVueSession._associate,
    (State.AWAITING_MDS, SessionInput.MDS_CREATE): IntelliVueSession._on_mds_create,
    (State.AWAITING_MDS, SessionInput.ABORT): IntelliVueSession._on_aborted,
    (State.AWAITING_MDS, SessionInput.TIMEOUT): IntelliVueSession._on_no_mds,
    (State.POLLING, SessionInput.MDS_CREATE): IntelliVueSession._on_mds_create,
    (State.POLLING, SessionInput.POLL_RESULT): IntelliVueSession._on_poll_result,
    (State.POLLING, SessionInput.ABORT): IntelliVueSession._on_aborted,
    (State.POLLING, SessionInput.RELEASE_REQUEST): IntelliVueSession._on_release_request,
    (State.POLLING, SessionInput.TIMEOUT): IntelliVueSession._on_polling_timer,
    (State.RELEASING, SessionInput.RELEASE_RESULT): IntelliVueSession._on_release_result,
    (State.RELEASING, SessionInput.ABORT): IntelliVueSession._on_release_result,
    (State.RELEASING, SessionInput.TIMEOUT): IntelliVueSession._on_release_result,
}
"""(state, input) -> handler; missing pairs are ignored (a stale result, a second accept)."""
