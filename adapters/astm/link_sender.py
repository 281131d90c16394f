"""The sender role of the ASTM link (LIS1-A §8.2-§8.3): queued messages out, one session each.

Host-query answers and the instrument simulator send through :class:`Sender` on the shared
:class:`~adapters.astm.link_line.LinkLine`. Each message gets its own ENQ…EOT session, FN
restarting at 1. ENQ answered by ENQ is contention: the computer backs off 20 s and answers the
instrument's next ENQ; the instrument re-sends ENQ after 1 s (§8.2.7). NAK or no answer to a
frame resends it; the ``max_attempts``-th failure ends with EOT and :class:`SendFailed`. An EOT
answering a frame is an ACK plus a request to stop (receiver interrupt, §8.3.5): the sender
finishes with EOT and, if frames were left, resends the whole message after ``interrupt_wait``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from adapters.astm.frames import ENQ, EOT, Frame, encode_frames
from adapters.astm.link_events import (
    LinkEstablished,
    LinkReleased,
    LinkTimedOut,
    SendCompleted,
    SendFailed,
)
from adapters.astm.link_line import LinkInput, LinkLine, State


@dataclass(slots=True)
class _Outgoing:
    send_id: int
    frames: list[bytes]
    index: int = 0
    failures: int = 0  # of the current step: establishment or the current frame


class Sender:
    """The sending half of one connection: a queue of messages, each retried to a limit."""

    def __init__(self, line: LinkLine) -> None:
        self._line = line
        self._queue: deque[_Outgoing] = deque()
        self._send_ids = itertools.count(1)
        self._retry_at: float | None = None  # no ENQ before this

    def send_message(self, records: list[bytes], now: float) -> int:
        """Queue one H…L message (records without CR) for its own ENQ…EOT session.

        Returns:
            The ``send_id`` that :class:`SendCompleted` or :class:`SendFailed` will carry.

        Raises:
            ValueError: a record contains a control byte.
        """
        frames: list[bytes] = []
        for record in records:
            frames += encode_frames(record, (1 + len(frames)) % 8, self._line.config.max_text)
        send_id = next(self._send_ids)
        self._queue.append(_Outgoing(send_id, frames))
        self.maybe_start(now)
        return send_id

    def next_retry(self) -> float | None:
        """When the next ENQ may go out, or ``None`` when nothing waits for the line."""
        return self._retry_at if self._line.state is State.IDLE and self._queue else None

    def maybe_start(self, now: float) -> None:
        """Bid for the line with ENQ when it is idle, a message waits and no back-off runs."""
        if self._line.state is not State.IDLE or not self._queue:
            return
        if self._retry_at is not None and now < self._retry_at:
            return
        self._retry_at = None
        self._line.send(ENQ)
        self._line.enter(State.ENQ_SENT, now + self._line.config.sender_timeout)

    def _on_established(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.index, outgoing.failures = 0, 0
        self._line.events.append(LinkEstablished("sender"))
        self._send_frame(outgoing, now)

    def _send_frame(self, outgoing: _Outgoing, now: float) -> None:
        self._line.out += outgoing.frames[outgoing.index]
        self._line.enter(State.FRAME_SENT, now + self._line.config.sender_timeout)

    def _on_contention(self, _frame: Frame | None, now: float) -> None:
        self._retry_at = now + self._line.config.contention_wait
        self._line.enter(State.IDLE, None)

    def _on_busy(self, _frame: Frame | None, now: float) -> None:
        self._establishment_failed(now, "receiver busy (NAK to ENQ)")

    def _on_enq_timeout(self, _frame: Frame | None, now: float) -> None:
        self._line.events.append(LinkTimedOut("sender", "reply to ENQ"))
        self._line.send(EOT)
        self._establishment_failed(now, "no reply to ENQ")

    def _establishment_failed(self, now: float, reason: str) -> None:
        outgoing = self._queue[0]
        outgoing.failures += 1
        self._line.enter(State.IDLE, None)
        if outgoing.failures >= self._line.config.max_attempts:
            self._give_up(reason)
        else:
            self._retry_at = now + self._line.config.busy_wait

    def _on_frame_acked(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.index, outgoing.failures = outgoing.index + 1, 0
        if outgoing.index < len(outgoing.frames):
            self._send_frame(outgoing, now)
            return
        self._queue.popleft()
        self._release_line()
        self._line.events.append(SendCompleted(outgoing.send_id))

    def _on_interrupted(self, frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        if not self._line.config.honour_interrupt or outgoing.index + 1 == len(outgoing.frames):
            self._on_frame_acked(frame, now)
            return
        outgoing.index, outgoing.failures = 0, 0
        self._release_line()
        self._retry_at = now + self._line.config.interrupt_wait

    def _on_frame_refused(self, _frame: Frame | None, now: float) -> None:
        outgoing = self._queue[0]
        outgoing.failures += 1
        if outgoing.failures < self._line.config.max_attempts:
            self._send_frame(outgoing, now)
            return
        self._release_line()
        self._give_up(f"frame {outgoing.index + 1} refused {outgoing.failures} times")

    def _release_line(self) -> None:
        self._line.send(EOT)
        self._line.enter(State.IDLE, None)
        self._line.events.append(LinkReleased("sender"))

    def _give_up(self, reason: str) -> None:
        self._line.events.append(SendFailed(self._queue.popleft().send_id, reason))


_Handler = Callable[[Sender, Frame | None, float], None]

SENDER_TRANSITIONS: dict[tuple[State, LinkInput], _Handler] = {
    (State.ENQ_SENT, LinkInput.ACK): Sender._on_established,
    (State.ENQ_SENT, LinkInput.NAK): Sender._on_busy,
    (State.ENQ_SENT, LinkInput.ENQ): Sender._on_contention,
    (State.ENQ_SENT, LinkInput.TIMEOUT): Sender._on_enq_timeout,
    (State.FRAME_SENT, LinkInput.ACK): Sender._on_frame_acked,
    (State.FRAME_SENT, LinkInput.EOT): Sender._on_interrupted,
    (State.FRAME_SENT, LinkInput.NAK): Sender._on_frame_refused,
    (State.FRAME_SENT, LinkInput.TIMEOUT): Sender._on_frame_refused,
}
"""(state, input) -> handler; missing pairs are noise and ignored.

Not in the table on purpose: anything while ENQ_SENT other than ACK/NAK/ENQ or the timer, a
frame while FRAME_SENT.
"""
