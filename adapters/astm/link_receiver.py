"""The receiver role of the ASTM link (LIS1-A §8.3): frames in, the final ACK held until durable.

An instrument sends to us; :class:`Receiver` answers its ENQ and frames on the shared
:class:`~adapters.astm.link_line.LinkLine`. Rules chosen:

- **Completion.** A message is complete when a good ETX frame ends with a record of type
  ``LinkConfig.message_end`` (``L``), wherever it sits in the frame (Hitachi and AQUALink pack
  whole messages into one frame). That frame's ACK is held until :meth:`~Receiver.accept`
  (then ``ACK``) or :meth:`~Receiver.reject` (then ``NAK``: the instrument resends the frame and
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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.astm.frames import ACK, EOT, NAK, Frame
from adapters.astm.link_events import (
    FrameRejected,
    LinkEstablished,
    LinkReleased,
    LinkTimedOut,
    MessageReceived,
)
from adapters.astm.link_line import LinkInput, LinkLine, State


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


class Receiver:
    """The receiving half of one connection: emits messages, holds their final ACK."""

    def __init__(self, line: LinkLine) -> None:
        self._line = line
        self._message_ids = itertools.count(1)
        self._inbound = _Inbound()
        self._undo = _Inbound()  # receiver progress before the held frame
        self._held: int | None = None
        self._detached: set[int] = set()
        self._interrupt = False

    def accept(self, message_id: int) -> None:
        """The message is durable: answer its final frame with ACK."""
        self._resolve(message_id, ACK)

    def reject(self, message_id: int) -> None:
        """The message could not be stored: NAK its final frame so the instrument resends it."""
        self._resolve(message_id, NAK)

    def interrupt(self) -> None:
        """Answer the next frame with EOT instead of ACK: ask the sender to stop (§8.3.5)."""
        self._interrupt = True

    def _on_enq(self, _frame: Frame | None, now: float) -> None:
        if self._detached:
            self._line.send(NAK)
            return
        self._line.send(ACK)
        self._inbound = _Inbound()
        self._line.enter(State.RECEIVING, now + self._line.config.receiver_timeout)
        self._line.events.append(LinkEstablished("receiver"))

    def _on_stray_frame(self, frame: Frame | None, _now: float) -> None:
        assert frame is not None
        self._line.events.append(FrameRejected("frame outside an established session", frame.raw))

    def _on_frame(self, frame: Frame | None, now: float) -> None:
        assert frame is not None
        self._line.deadline = now + self._line.config.receiver_timeout
        inbound = self._inbound
        if not frame.checksum_ok:
            self._refuse(frame, "bad checksum")
        elif frame.fn == inbound.expected:
            self._take(frame)
        elif inbound.any_taken and frame.fn == (inbound.expected - 1) % 8:
            self._answer_frame()
            self._line.events.append(
                FrameRejected("repeat of the frame before: ACKed, dropped", frame.raw)
            )
        else:
            self._refuse(frame, f"frame number {frame.fn}, expected {inbound.expected}")

    def _refuse(self, frame: Frame, reason: str) -> None:
        self._line.send(NAK)
        self._line.events.append(FrameRejected(reason, frame.raw))

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
        message_end = self._line.config.message_end
        if not inbound.records or not inbound.records[-1].startswith(message_end):
            self._answer_frame()
            return
        self._held = next(self._message_ids)
        self._line.state = State.HOLDING
        self._line.events.append(MessageReceived(self._held, list(inbound.records), inbound.raw))

    def _answer_frame(self) -> None:
        self._line.send(EOT if self._interrupt else ACK)
        self._interrupt = False

    def _resolve(self, message_id: int, code: int) -> None:
        if message_id in self._detached:
            self._detached.discard(message_id)
            return
        if message_id != self._held:
            raise ValueError(f"message {message_id} is unknown or already answered")
        self._held = None
        self._line.state = State.RECEIVING
        if code == ACK:
            self._inbound.records, self._inbound.raw = [], b""
            self._answer_frame()
        else:
            self._inbound = self._undo
            self._line.send(NAK)

    def _on_released(self, _frame: Frame | None, _now: float) -> None:
        inbound = self._inbound
        line = self._line
        if line.state is State.RECEIVING and inbound.records and line.config.deliver_unterminated:
            message_id = next(self._message_ids)
            self._detached.add(message_id)
            line.events.append(MessageReceived(message_id, inbound.records, inbound.raw, False))
        self._end_receiving()
        line.events.append(LinkReleased("receiver"))

    def _on_receive_timeout(self, _frame: Frame | None, _now: float) -> None:
        self._line.events.append(LinkTimedOut("receiver", "frame or EOT"))
        self._end_receiving()

    def _end_receiving(self) -> None:
        if self._held is not None:
            self._detached.add(self._held)
            self._held = None
        self._inbound = _Inbound()
        self._line.enter(State.IDLE, None)


_Handler = Callable[[Receiver, Frame | None, float], None]

RECEIVER_TRANSITIONS: dict[tuple[State, LinkInput], _Handler] = {
    (State.IDLE, LinkInput.ENQ): Receiver._on_enq,
    (State.IDLE, LinkInput.FRAME): Receiver._on_stray_frame,
    (State.RECEIVING, LinkInput.FRAME): Receiver._on_frame,
    (State.RECEIVING, LinkInput.EOT): Receiver._on_released,
    (State.RECEIVING, LinkInput.TIMEOUT): Receiver._on_receive_timeout,
    (State.HOLDING, LinkInput.EOT): Receiver._on_released,
    (State.HOLDING, LinkInput.TIMEOUT): Receiver._on_receive_timeout,
}
"""(state, input) -> handler, as h11's ``_state.py``; missing pairs are noise and ignored.

Not in the table on purpose: a frame while HOLDING (the sender resent it while we owe the
answer), ACK/NAK/EOT while IDLE or RECEIVING (stray answers).
"""
