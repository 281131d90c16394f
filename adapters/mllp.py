"""MLLP framing, sans-IO: ``0x0B`` + payload + ``0x1C 0x0D`` (HL7 v2 transport, PROTOCOLS.md §5).

:class:`MllpReceiver` turns a byte stream cut anywhere into frames, many per connection, and
never raises: problems come back as :class:`FramingError` items in stream order. Memory is
bounded (RELIABILITY.md (e)): a frame over the limit is reported once and skipped up to its end
block, and kept garbage is capped too. Choices:

- An end block is ``0x1C``; the ``0x0D`` after it is optional, because a CR between frames is
  skipped like any whitespace (also the stray CR LF some senders add after a frame).
- Other bytes outside a frame are reported once per run (a run ends at the next start block),
  with the bytes seen in that call kept for inspection; a later call's continuation is dropped.
- A start block inside a frame abandons the partial frame (reported with its bytes) and starts
  a new one: the sender restarted, usually a retransmission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

START_BLOCK = 0x0B
END_BLOCK = 0x1C
_TRAILER = b"\x1c\r"
_WHITESPACE = b" \t\r\n\x00"
_KEPT_HEAD = 4096  # of an oversized frame: enough to salvage its MSH and answer it

FramingErrorKind = Literal["garbage", "oversized", "restarted"]


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class FramingError:
    reason: str
    kind: FramingErrorKind
    data: bytes = b""
    """The offending bytes (garbage, abandoned partial frame, or an oversized frame's head)."""


def encode_frame(payload: bytes) -> bytes:
    """Wrap one message; block bytes cannot be carried inside, so they are refused.

    Raises:
        ValueError: ``payload`` contains ``0x0B`` or ``0x1C``.
    """
    if START_BLOCK in payload or END_BLOCK in payload:
        raise ValueError("MLLP payload must not contain 0x0B or 0x1C")
    return bytes((START_BLOCK,)) + payload + _TRAILER


class MllpReceiver:
    """Splits a byte stream into MLLP frames; keeps partial data between calls."""

    def __init__(self, max_message_bytes: int = 1 << 20) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be at least 1")
        self._max = max_message_bytes
        self._frame: bytearray | None = None  # None: between frames
        self._oversized = False  # inside a frame being skipped
        self._garbage_reported = False  # the current run outside frames was reported

    @property
    def in_frame(self) -> bool:
        """A frame has started and not ended: the peer owes us the rest (read timeout)."""
        return self._frame is not None

    def receive_data(self, data: bytes) -> list[Frame | FramingError]:
        """Feed bytes as they arrived; return the frames and errors they completed, in order."""
        items: list[Frame | FramingError] = []
        pos = 0
        while pos < len(data):
            if self._frame is None:
                pos = self._outside(data, pos, items)
            else:
                pos = self._inside(data, pos, items)
        return items

    def _outside(self, data: bytes, pos: int, items: list[Frame | FramingError]) -> int:
        start = data.find(START_BLOCK, pos)
        end = len(data) if start < 0 else start
        junk = data[pos:end].lstrip(_WHITESPACE)
        if junk and not self._garbage_reported:
            self._garbage_reported = True
            items.append(FramingError("bytes outside an MLLP frame", "garbage", junk[: self._max]))
        if start >= 0:
            self._frame = bytearray()
            self._oversized = False
            self._garbage_reported = False
        return end + 1

    def _inside(self, data: bytes, pos: int, items: list[Frame | FramingError]) -> int:
        frame = self._frame
        assert frame is not None
        end = data.find(END_BLOCK, pos)
        restart = data.find(START_BLOCK, pos, len(data) if end < 0 else end)
        stop = restart if restart >= 0 else end if end >= 0 else len(data)
        self._append(frame, data[pos:stop], items)
        if restart >= 0:
            if not self._oversized:
                items.append(FramingError("start block inside a frame", "restarted", bytes(frame)))
            self._frame = bytearray()
            self._oversized = False
        elif end >= 0:
            if not self._oversized:
                items.append(Frame(bytes(frame)))
            self._frame = None
        return stop + 1 if stop < len(data) else stop

    def _append(self, frame: bytearray, chunk: bytes, items: list[Frame | FramingError]) -> None:
        if self._oversized:
            return
        if len(frame) + len(chunk) > self._max:
            head = (bytes(frame[:_KEPT_HEAD]) + chunk[:_KEPT_HEAD])[:_KEPT_HEAD]
            items.append(FramingError(f"frame exceeds {self._max} bytes", "oversized", head))
            self._oversized = True
            frame.clear()
            return
        frame += chunk
