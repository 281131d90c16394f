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

_KEPT_HEAD = 4096
"""Bytes of a refused or dropped message kept with its reject: enough to see what it was."""


@dataclass(slots=True)
class _Mark:
    """Receiver progress before one frame: lengths, not copies, so each frame costs O(1)."""

    expected: int
    any_taken: bool
    records: int
    partial: list[bytes]
    partial_len: int
    frames: int
    size: int
    started: float | None


@dataclass(slots=True)
class _Inbound:
    """Receiver progress in one session; its lists only grow while a message comes in.

    Frames are kept in lists and joined once, when the message is complete: a message of
    20,000 frames once cost quadratic time and 300 MB (issue 11, defect 6).
    """

    expected: int = 1
    any_taken: bool = False
    records: list[bytes] = field(default_factory=list)
    partial: list[bytes] = field(default_factory=list)  # texts of a record continued (ETB)
    frames: list[bytes] = field(default_factory=list)  # the message's frames, as received
    size: int = 0  # bytes in ``frames``
    started: float | None = None  # when the message's first frame came
    refused: bool = False  # over a limit: every frame is NAKed until the session ends

    def mark(self) -> _Mark:
        return _Mark(
            self.expected,
            self.any_taken,
            len(self.records),
            self.partial,
            len(self.partial),
            len(self.frames),
            self.size,
            self.started,
        )

    def restore(self, mark: _Mark) -> None:
        self.expected, self.any_taken = mark.expected, mark.any_taken
        del self.records[mark.records :]
        self.partial = mark.partial[: mark.partial_len]
        del self.frames[mark.frames :]
        self.size, self.started = mark.size, mark.started

    def next_message(self) -> None:
        """The message is answered: start the next one, frame numbering going on."""
        self.records, self.partial, self.frames = [], [], []
        self.size, self.started = 0, None

    @property
    def raw(self) -> bytes:
        return b"".join(self.frames)

    def head(self) -> bytes:
        kept = bytearray()
        for frame in self.frames:
            kept += frame[: _KEPT_HEAD - len(kept)]
            if len(kept) >= _KEPT_HEAD:
                break
        return bytes(kept)


class Receiver:
    """The receiving half of one connection: emits messages, holds their final ACK."""

    def __init__(self, line: LinkLine) -> None:
        self._line = line
        self._message_ids = itertools.count(1)
        self._inbound = _Inbound()
        self._undo = self._inbound.mark()  # receiver progress before the held frame
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
        config = self._line.config
        inbound = self._inbound
        self._line.deadline = now + config.receiver_timeout
        if inbound.started is not None:
            self._line.deadline = min(self._line.deadline, inbound.started + config.message_timeout)
        if inbound.refused:
            self._line.send(NAK)  # the sender gives up after max_attempts and sends EOT
        elif not frame.checksum_ok:
            self._refuse(frame, "bad checksum")
        elif frame.fn == inbound.expected:
            self._take(frame, now)
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

    def _over_limit(self, frame: Frame) -> str:
        """Why the message cannot take ``frame`` (it would be too long), or ``""``."""
        config, inbound = self._line.config, self._inbound
        if len(inbound.frames) >= config.max_message_frames:
            return f"message over {config.max_message_frames} frames: refused (NAK)"
        if inbound.size + len(frame.raw) > config.max_message_bytes:
            return f"message over {config.max_message_bytes} bytes: refused (NAK)"
        return ""

    def _take(self, frame: Frame, now: float) -> None:
        inbound = self._inbound
        if reason := self._over_limit(frame):
            self._line.events.append(FrameRejected(reason, inbound.head()))
            self._line.send(NAK)
            inbound.refused = True
            inbound.next_message()
            return
        self._undo = inbound.mark()
        inbound.expected = (inbound.expected + 1) % 8
        inbound.any_taken = True
        inbound.frames.append(frame.raw)
        inbound.size += len(frame.raw)
        if inbound.started is None:
            inbound.started = now
        inbound.partial.append(frame.text)
        if not frame.final:
            self._answer_frame()
            return
        texts, inbound.partial = inbound.partial, []
        inbound.records += [record for record in b"".join(texts).split(b"\r") if record]
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
            self._inbound.next_message()
            self._answer_frame()
        else:
            self._inbound.restore(self._undo)
            self._line.send(NAK)

    def _on_released(self, _frame: Frame | None, _now: float) -> None:
        inbound = self._inbound
        line = self._line
        deliver = line.config.deliver_unterminated and not inbound.refused
        if line.state is State.RECEIVING and inbound.records and deliver:
            message_id = next(self._message_ids)
            self._detached.add(message_id)
            line.events.append(MessageReceived(message_id, inbound.records, inbound.raw, False))
        self._end_receiving()
        line.events.append(LinkReleased("receiver"))

    def _on_receive_timeout(self, _frame: Frame | None, now: float) -> None:
        inbound, config = self._inbound, self._line.config
        receiving = self._line.state is State.RECEIVING
        if (
            receiving
            and inbound.started is not None
            and now >= inbound.started + config.message_timeout
        ):
            reason = f"message not complete within {config.message_timeout:g} s: dropped"
            self._line.events.append(FrameRejected(reason, inbound.head()))
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
