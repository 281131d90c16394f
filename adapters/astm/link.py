"""CLSI LIS1-A §8 link layer for both roles, sans-IO, with the durable-ACK handshake.

One :class:`AstmLink` per connection plays receiver (an instrument sends to us) and sender
(:meth:`AstmLink.send_message`: host-query answers, the instrument simulator). Bytes go in with
:meth:`~AstmLink.receive_data`, time with :meth:`~AstmLink.handle_timeout` at
:meth:`~AstmLink.next_deadline`; :meth:`~AstmLink.events` and :meth:`~AstmLink.data_to_send`
come out. States and inputs map to handlers in :data:`_TRANSITIONS`; a pair that is not in the
table is line noise and ignored. Rules chosen:

- **Completion.** A message is complete when a good ETX frame ends with a record of type
  ``LinkConfig.message_end`` (``L``), wherever it sits in the frame (Hitachi and AQUALink pack
  whole messages into one frame). That frame's ACK is held until :meth:`~AstmLink.accept`
  (then ``ACK``) or :meth:`~AstmLink.reject` (then ``NAK``: the instrument resends the frame and
  the message is emitted again under a **new** ``message_id``; ids are never reused). "The last
  frame before EOT" cannot be the rule: EOT arrives after that frame was answered. So records
  left when EOT comes without an L are emitted with ``held=False`` (already ACKed; accept and
  reject send nothing), unless ``deliver_unterminated`` is off.
- **Late commits.** EOT or the 30 s timer while holding detaches the message: the instrument
  gave up and will resend, so accept/reject later send nothing (at-least-once delivery).
  Until every received message is resolved, ENQ is answered ``NAK`` (busy, LIS1-A §8.2.5).
- **Frames.** Bad checksum, unreadable or unexpected FN: ``NAK``. The previous FN again: a
  resend of a frame we ACKed: ``ACK`` and drop (§8.3.4). A frame cut by a control byte is not
  answered: the sender times out and resends it. A resend while holding is ignored.
- **Sender.** ENQ answered by ENQ is contention: the computer backs off 20 s and answers the
  instrument's next ENQ; the instrument re-sends ENQ after 1 s (§8.2.7). NAK or no answer to a
  frame resends it; the ``max_attempts``-th failure ends with EOT and :class:`SendFailed`. An
  EOT answering a frame is an ACK plus a request to stop (receiver interrupt, §8.3.5): the
  sender finishes with EOT and, if frames were left, resends the whole message after
  ``interrupt_wait``. Each message gets its own ENQ…EOT session, FN restarting at 1.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.astm.dialect_link import HOST, LinkConfig
from adapters.astm.frames import ACK, ENQ, EOT, NAK, Control, Frame, FrameDecoder, encode_frames
from adapters.astm.link_events import (
    Event,
    FrameRejected,
    LinkEstablished,
    LinkReleased,
    LinkTimedOut,
    MessageReceived,
    SendCompleted,
    SendFailed,
)


class State(enum.Enum):
    IDLE = "idle"
    ENQ_SENT = "enq_sent"
    FRAME_SENT = "frame_sent"
    RECEIVING = "receiving"
    HOLDING = "holding"


class _Input(enum.Enum):
    ENQ = ENQ
    ACK = ACK
    NAK = NAK
    EOT = EOT
    FRAME = "frame"
    TIMEOUT = "timeout"


@dataclass(slots=True)
class _Outgoing:
    send_id: int
    frames: list[bytes]
    index: int = 0
    failures: int = 0  # of the current step: establishment or the current frame


@dataclass(slots=True)
class _Inbound:
    """Receiver progress in one session; copied before the frame whose ACK is held."""

    expected: int = 1
    any_taken: bool = False
    records: list[bytes] = field(default_factory=list)
    partial: bytes = b""  # text of a record continued in the next (ETB) frame
    raw: bytes = b""

    def copy(self) -> _Inbound:
        return _Inbound(self.expected, self.any_taken, list(self.records), self.partial, self.raw)


class AstmLink:
    """One ASTM connection: bytes and time in, events and bytes out, final ACKs held."""

    def __init__(self, config: LinkConfig = HOST) -> None:
        self._config = config
        self._decoder = FrameDecoder(
            lf_required=config.lf_required,
            checksum_required=config.checksum_required,
            max_frame_bytes=config.max_frame_bytes,
        )
        self._state = State.IDLE
        self._deadline: float | None = None  # the current state's timer
        self._retry_at: float | None = None  # sender: no ENQ before this
        self._out = bytearray()
        self._events: list[Event] = []
        self._queue: deque[_Outgoing] = deque()
        self._send_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._inbound = _Inbound()
        self._undo = _Inbound()  # receiver progress before the held frame
        self._held: int | None = None
        self._detached: set[int] = set()
        self._interrupt = False

    @property
    def state(self) -> State:
        return self._state

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes as they arrived on the line."""
        for item in self._decoder.receive_data(data):
            if isinstance(item, Frame):
                self._dispatch(_Input.FRAME, item, now)
            elif isinstance(item, Control):
                self._dispatch(_Input(item.code), None, now)
            else:
                self._events.append(FrameRejected(item.reason, item.data))
        self._maybe_start(now)

    def handle_timeout(self, now: float) -> None:
        """Act on every deadline that has passed; harmless when called early."""
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._dispatch(_Input.TIMEOUT, None, now)
        self._maybe_start(now)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` is due next, or ``None`` when nothing is pending."""
        retry = self._retry_at if self._state is State.IDLE and self._queue else None
        pending = [t for t in (self._deadline, retry) if t is not None]
        return min(pending, default=None)

    def send_message(self, records: list[bytes], now: float) -> int:
        """Queue one H…L message (records without CR) for its own ENQ…EOT session.

        Returns:
            The ``send_id`` that :class:`SendCompleted` or :class:`SendFailed` will carry.

        Raises:
            ValueError: a record contains a control byte.
        """
        frames: list[bytes] = []
        for record in records:
            frames += encode_frames(record, (1 + len(frames)) % 8, self._config.max_text)
        send_id = next(self._send_ids)
        self._queue.append(_Outgoing(send_id, frames))
        self._maybe_start(now)
        return send_id

    def accept(self, message_id: int) -> None:
        """The message is durable: answer its final frame with ACK."""
        self._resolve(message_id, ACK)

    def reject(self, message_id: int) -> None:
        """The message could not be stored: NAK its final frame so the instrument resends it."""
        self._resolve(message_id, NAK)

    def interrupt(self) -> None:
        """Answer the next frame with EOT instead of ACK: ask the sender to stop (§8.3.5)."""
        self._interrupt = True

    def events(self) -> list[Event]:
        """Events since the last call, in order."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """Bytes owed to the peer since the last call."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def _dispatch(self, kind: _Input, frame: Frame | None, now: float) -> None:
        handler = _TRANSITIONS.get((self._state, kind))
        if handler is not None:
            handler(self, frame, now)

    def _send(self, code: int) -> None:
        self._out.append(code)

    def _enter(self, state: State, deadline: float | None) -> None:
        self._state, self._deadline = state, deadline

    # Receiver role.

    def _on_enq(self, _frame: Frame | None, now: float) -> None:
        if self._detached:
            self._send(NAK)
            return
        self._send(ACK)
        self._inbound = _Inbound()
        self._enter(State.RECEIVING, now + self._config.receiver_timeout)
        self._events.append(LinkEstablished("receiver"))

    def _on_stray_frame(self, frame: Frame | None, _now: float) -> None:
        assert frame is not None
        self._events.append(FrameRejected("frame outside an established session", frame.raw))

    def _on_frame(self, frame: Frame | None, now: float) -> None:
        assert frame is not None
        self._deadline = now + self._config.receiver_timeout
        inbound = self._inbound
        if not frame.checksum_ok:
            self._refuse(frame, "bad checksum")
        elif frame.fn == inbound.expected:
            self._take(frame)
        elif inbound.any_taken and frame.fn == (inbound.expected - 1) % 8:
            self._answer_frame()
            self._events.append(
                FrameRejected("repeat of the frame before: ACKed, dropped", frame.raw)
            )
        else:
            self._refuse(frame, f"frame number {frame.fn}, expected {inbound.expected}")

    def _refuse(self, frame: Frame, reason: str) -> None:
        self._send(NAK)
        self._events.append(FrameRejected(reason, frame.raw))

    def _take(self, frame: Frame) -> None:
        self._undo = self._inbound.copy()
        inbound = self._inbound
        inbound.expected = (inbound.expected + 1) % 8
        inbound.any_taken = True
        inbound.raw += frame.raw
        inbound.partial += frame.text
        if not frame.final:
            self._answer_frame()
            return
        inbound.records += [record for record in inbound.partial.split(b"\r") if record]
        inbound.partial = b""
        if not inbound.records or not inbound.records[-1].startswith(self._config.message_end):
            self._answer_frame()
            return
        self._held = next(self._message_ids)
        self._state = State.HOLDING
        self._events.append(MessageReceived(self._held, list(inbound.records), inbound.raw))

    def _answer_frame(self) -> None:
        self._send(EOT if self._interrupt else ACK)
        self._interrupt = False

    def _resolve(self, message_id: int, code: int) -> None:
        if message_id in self._detached:
            self._detached.discard(message_id)
            return
        if message_id != self._held:
            raise ValueError(f"message {message_id} is unknown or already answered")
        self._held = None
        self._state = State.RECEIVING
        if code == ACK:
            self._inbound.records, self._inbound.raw = [], b""
            self._answer_frame()
        else:
            self._inbound = self._undo
            self._send(NAK)

    def _on_released(self, _frame: Frame | None, _now: float) -> None:
        inbound = self._inbound
        if self._state is State.RECEIVING and inbound.records and self._config.deliver_unterminated:
            message_id = next(self._message_ids)
            self._detached.add(message_id)
            self._events.append(MessageReceived(message_id, inbound.records, inbound.raw, False))
        self._end_receiving()
        self._events.append(LinkReleased("receiver"))

    def _on_receive_timeout(self, _frame: Frame | None, _now: float) -> None:
        self._events.append(LinkTimedOut("receiver", "frame or EOT"))
        self._end_receiving()

    def _end_receiving(self) -> None:
        if self._held is not None:
            self._detached.add(self._held)
            self._held = None
        self._inbound = _Inbound()
        self._enter(State.IDLE, None)

    # Sender role.

    def _maybe_start(self, now: float) -> None:
        if self._state is not State.IDLE or not self._queue:
            return
        if self._retry_at is not None and now < self._retry_at:
            return
        self._retry_at = None
        self._send(ENQ)
        self._enter(State.ENQ_SENT, now + self._config.sender_timeout)

    def _on_established(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.index, outgoing.failures = 0, 0
        self._events.append(LinkEstablished("sender"))
        self._send_frame(outgoing, now)

    def _send_frame(self, outgoing: _Outgoing, now: float) -> None:
        self._out += outgoing.frames[outgoing.index]
        self._enter(State.FRAME_SENT, now + self._config.sender_timeout)

    def _on_contention(self, _frame: Frame | None, now: float) -> None:
        self._retry_at = now + self._config.contention_wait
        self._enter(State.IDLE, None)

    def _on_busy(self, _frame: Frame | None, now: float) -> None:
        self._establishment_failed(now, "receiver busy (NAK to ENQ)")

    def _on_enq_timeout(self, _frame: Frame | None, now: float) -> None:
        self._events.append(LinkTimedOut("sender", "reply to ENQ"))
        self._send(EOT)
        self._establishment_failed(now, "no reply to ENQ")

    def _establishment_failed(self, now: float, reason: str) -> None:
        outgoing = self._queue[0]
        outgoing.failures += 1
        self._enter(State.IDLE, None)
        if outgoing.failures >= self._config.max_attempts:
            self._give_up(reason)
        else:
            self._retry_at = now + self._config.busy_wait

    def _on_frame_acked(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.index, outgoing.failures = outgoing.index + 1, 0
        if outgoing.index < len(outgoing.frames):
            self._send_frame(outgoing, now)
            return
        self._queue.popleft()
        self._release_line()
        self._events.append(SendCompleted(outgoing.send_id))

    def _on_interrupted(self, frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        if not self._config.honour_interrupt or outgoing.index + 1 == len(outgoing.frames):
            self._on_frame_acked(frame, now)
            return
        outgoing.index, outgoing.failures = 0, 0
        self._release_line()
        self._retry_at = now + self._config.interrupt_wait

    def _on_frame_refused(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.failures += 1
        if outgoing.failures < self._config.max_attempts:
            self._send_frame(outgoing, now)
            return
        self._release_line()
        self._give_up(f"frame {outgoing.index + 1} refused {outgoing.failures} times")

    def _release_line(self) -> None:
        self._send(EOT)
        self._enter(State.IDLE, None)
        self._events.append(LinkReleased("sender"))

    def _give_up(self, reason: str) -> None:
        self._events.append(SendFailed(self._queue.popleft().send_id, reason))


_Handler = Callable[[AstmLink, Frame | None, float], None]

_TRANSITIONS: dict[tuple[State, _Input], _Handler] = {
    (State.IDLE, _Input.ENQ): AstmLink._on_enq,
    (State.IDLE, _Input.FRAME): AstmLink._on_stray_frame,
    (State.ENQ_SENT, _Input.ACK): AstmLink._on_established,
    (State.ENQ_SENT, _Input.NAK): AstmLink._on_busy,
    (State.ENQ_SENT, _Input.ENQ): AstmLink._on_contention,
    (State.ENQ_SENT, _Input.TIMEOUT): AstmLink._on_enq_timeout,
    (State.FRAME_SENT, _Input.ACK): AstmLink._on_frame_acked,
    (State.FRAME_SENT, _Input.EOT): AstmLink._on_interrupted,
    (State.FRAME_SENT, _Input.NAK): AstmLink._on_frame_refused,
    (State.FRAME_SENT, _Input.TIMEOUT): AstmLink._on_frame_refused,
    (State.RECEIVING, _Input.FRAME): AstmLink._on_frame,
    (State.RECEIVING, _Input.EOT): AstmLink._on_released,
    (State.RECEIVING, _Input.TIMEOUT): AstmLink._on_receive_timeout,
    (State.HOLDING, _Input.EOT): AstmLink._on_released,
    (State.HOLDING, _Input.TIMEOUT): AstmLink._on_receive_timeout,
}
"""(state, input) -> handler, as h11's ``_state.py``; missing pairs are noise and ignored.

Not in the table on purpose: a frame while HOLDING (the sender resent it while we owe the
answer), ACK/NAK/EOT while IDLE or RECEIVING (stray answers), anything while ENQ_SENT other
than ACK/NAK/ENQ.
"""
