"""The device-session contract: one connection's protocol, sans-IO, in the manner of h11.

Every device kind reads its device through a :class:`DeviceSession`, one per connection. The
session never touches a socket, a clock or the store. The gateway's one driving loop
(``gateway/devices/loop.py``) feeds it what the transport delivered and the current time, and
carries out what it asks for:

- in: :meth:`~DeviceSession.receive_data` (bytes, or one datagram), :meth:`handle_timeout` when
  :meth:`next_deadline` has passed, :meth:`stored` once a :class:`Store` was committed (or
  refused), :meth:`host_answered` once an :class:`AskHost` has its answer, :meth:`peer_closed`
  at end of input, :meth:`close` when the gateway stops the device;
- out: :meth:`data_to_send` (bytes for the device, one item per datagram) and :meth:`outputs`:
  events to store, input to count as rejected, a question for the centre, a state to report,
  a connection to end.

**Answer after the commit.** A :class:`Store` with a ``ticket`` holds the device's answer: the
session must not put the positive answer (ACK, AA, CA) into :meth:`data_to_send` before
``stored(ticket, None)``, and answers negatively (NAK, AR) on ``stored(ticket, reason)``. That
is promise 1 (nothing acknowledged before it is durable) in one place for every kind.

**Idle.** While :meth:`next_deadline` is ``None`` the loop closes a connection silent for the
device's idle timeout; a session with a deadline of its own (a message half received, a poll
due) decides for itself what a timeout means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from adapters.astm.unread import Position
from adapters.canonical.events import CanonicalEvent, DeviceState, OrderQuery
from adapters.canonical.orders import OrderReply

EndReason = Literal["idle_timeout", "message_deadline"]
"""Why a session ended its connection because of a limit: a bounded set, fit for a label."""


@dataclass(frozen=True, slots=True)
class Store:
    """Commit these events as one message (all or none), then call ``stored(ticket, refused)``.

    Attributes:
        events: What the message says; may be empty (a message that only asks a question),
            in which case nothing is committed and ``stored`` is called with ``None``.
        raw: The device's bytes, kept in the envelope.
        message_key: The same key from the same device again is a retransmission: kept once.
        device_time: The message's own time, for events that state none.
        ticket: The session's handle for the answer; ``None`` when the device gets none.
        unread: Fields no rule read, counted once the message is stored.
    """

    events: Sequence[CanonicalEvent]
    raw: bytes | None = None
    message_key: str | None = None
    device_time: datetime | None = None
    ticket: object | None = None
    unread: Mapping[Position, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input the session will not take: count it and keep its bytes for inspection."""

    reason: str
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class AskHost:
    """Commit ``query`` and wait up to ``timeout_s`` for the centre; then ``host_answered``."""

    query: OrderQuery
    raw: bytes | None
    timeout_s: float
    ticket: object


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The device's own state changed (an association made or lost), beyond the transport's."""

    state: DeviceState
    detail: str


@dataclass(frozen=True, slots=True)
class EndConnection:
    """Close this connection now; ``reason`` is counted when a limit ended it."""

    reason: EndReason | None = None


SessionOutput = Store | Rejected | AskHost | StateChanged | EndConnection


class DeviceSession(Protocol):
    """One connection's protocol state; see the module docstring for the loop's side."""

    def start(self, now: float) -> None:
        """The connection is open (a polling session sends its first request)."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from a stream, or one datagram."""

    def handle_timeout(self, now: float) -> None:
        """Called when :meth:`next_deadline` has passed (and may be called early)."""

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` is next due, on the loop's monotonic clock."""

    def data_to_send(self) -> list[bytes]:
        """What to write to the device, in order; one item per datagram on datagram links."""

    def outputs(self) -> list[SessionOutput]:
        """What the gateway must do, in order (drained by this call)."""

    def stored(self, ticket: object, refused: str | None) -> None:
        """The :class:`Store` holding ``ticket`` was committed (``None``) or refused (why)."""

    def host_answered(self, ticket: object, reply: OrderReply | None, now: float) -> None:
        """The centre answered the :class:`AskHost` holding ``ticket`` (``None``: no answer)."""

    def peer_closed(self, now: float) -> None:
        """No more input will come (EOF): whatever is complete enough may still be stored."""

    def close(self, now: float) -> bool:
        """The gateway ends the connection.

        Returns ``True`` to wait (bounded) for the device's goodbye until :meth:`next_deadline`
        is ``None`` (an association released).
        """


class SessionBase:
    """Defaults for what most sessions do not need, and the queue of outputs."""

    def __init__(self) -> None:
        self._outputs: list[SessionOutput] = []
        self._to_send: list[bytes] = []

    def start(self, now: float) -> None:
        """Most devices speak first; nothing to do."""

    def handle_timeout(self, now: float) -> None:
        """No deadline of its own by default (see :meth:`next_deadline`)."""

    def next_deadline(self) -> float | None:
        return None

    def data_to_send(self) -> list[bytes]:
        sending, self._to_send = self._to_send, []
        return sending

    def outputs(self) -> list[SessionOutput]:
        taken, self._outputs = self._outputs, []
        return taken

    def stored(self, ticket: object, refused: str | None) -> None:
        """A session whose stores carry no ticket is never called here."""

    def host_answered(self, ticket: object, reply: OrderReply | None, now: float) -> None:
        """A session that never asks the host is never called here."""

    def peer_closed(self, now: float) -> None:
        """Nothing half received is worth storing by default."""

    def close(self, now: float) -> bool:
        return False

    def _emit(self, output: SessionOutput) -> None:
        self._outputs.append(output)

    def _send(self, data: bytes) -> None:
        if data:
            self._to_send.append(data)
