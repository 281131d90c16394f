"""ASTM E1381 / CLSI LIS1-A frames, sans-IO: ``STX FN text ETB|ETX C1 C2 CR LF`` (LIS1-A §8.3).

:func:`encode_frames` is strict on output (text ≤ 240 bytes, FN 0-7, no control bytes in the
text); :class:`FrameDecoder` is liberal on input and never raises (PROTOCOLS.md §1):

- Bytes outside frames that are not control bytes are reported as one :class:`Garbage` run per
  call; CR and LF between frames are skipped silently (trailers of a frame ended early).
- ``STX``, ``ENQ``, ``EOT``, ``ACK`` or ``NAK`` before a frame is complete cut it: the partial
  frame is reported as :class:`Garbage` and the new byte is handled (the sender restarted).
- After the checksum the frame ends at ``LF``; unless ``lf_required``, ``CR`` alone or nothing
  (the next control byte) ends it too. Without ``checksum_required`` a frame with no checksum
  at all is good; a checksum that is present must still match (lower-case hex accepted).
- Frames are not limited to 247 bytes on input (TCP dialects), only to ``max_frame_bytes`` so
  memory stays bounded; a longer one is reported as :class:`Garbage` and skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENQ, ACK, NAK, EOT = 0x05, 0x06, 0x15, 0x04
STX, ETX, ETB = 0x02, 0x03, 0x17
CR, LF = 0x0D, 0x0A
CONTROLS = frozenset({ENQ, ACK, NAK, EOT})
_CUTTERS = CONTROLS | {STX}
_TEXT_FORBIDDEN = frozenset({STX, ETX, ETB, EOT, ENQ, ACK, NAK, 0x10, 0x16, LF, CR})
"""LIS1-A §8.3.4: never inside frame text (CR only as the record end :func:`encode_frames` adds)."""

MAX_TEXT = 240
_CUTTER_SEARCH = re.compile(b"[" + re.escape(bytes(sorted(_CUTTERS))) + b"]").search
_HEX_PAIR = re.compile(b"[0-9A-Fa-f]{2}").fullmatch
_WHOLE_FRAME = re.compile(b"\x02[^\x02-\x06\x15\x17]*[\x03\x17][0-9A-Fa-f]{2}\r\n").match
_WHOLE_TAIL = re.compile(b"[\x03\x17][0-9A-Fa-f]{2}\r\n").match
_SPECIAL_SEARCH = re.compile(b"[" + re.escape(bytes(sorted(_CUTTERS | {ETX, ETB}))) + b"]").search


@dataclass(frozen=True, slots=True)
class Frame:
    fn: int | None
    """Frame number 0-7, or ``None`` when the byte after STX is not an ASCII digit 0-7."""
    text: bytes
    final: bool
    """``ETX`` (the record ends here) rather than ``ETB`` (intermediate frame)."""
    checksum_ok: bool
    raw: bytes
    """From STX to the byte that ended the frame (an LF after CR is skipped between frames)."""


@dataclass(frozen=True, slots=True)
class Control:
    code: int
    """One of :data:`ENQ`, :data:`ACK`, :data:`NAK`, :data:`EOT`."""


@dataclass(frozen=True, slots=True)
class Garbage:
    reason: str
    data: bytes


Item = Frame | Control | Garbage


def checksum(frame_body: bytes) -> str:
    """Byte sum of FN, text and ETB/ETX modulo 256 as two upper-case hex digits (LIS1-A §8.3.3).

    Bytes, not code points: a Vietnamese UTF-8 capture only verifies byte-wise (PROTOCOLS.md §1).
    """
    return f"{sum(frame_body) & 0xFF:02X}"


def encode_frame(fn: int, text: bytes, *, final: bool) -> bytes:
    """One frame with its checksum and ``CR LF`` trailer."""
    body = bytes((0x30 + fn % 8,)) + text + bytes((ETX if final else ETB,))
    return bytes((STX,)) + body + checksum(body).encode("ascii") + b"\r\n"


def encode_frames(record_bytes: bytes, first_fn: int, max_text: int = MAX_TEXT) -> list[bytes]:
    """Frame one record (given without its CR): ETB frames of ``max_text`` bytes, the last ETX.

    Each record starts a new frame (LIS1-A §8.3.1.1); FN counts on modulo 8 from ``first_fn``.

    Raises:
        ValueError: a control byte in the record, ``first_fn`` not 0-7 or ``max_text`` < 1.
    """
    if not 0 <= first_fn <= 7 or max_text < 1:
        raise ValueError("first_fn must be 0-7 and max_text at least 1")
    if _TEXT_FORBIDDEN.intersection(record_bytes):
        raise ValueError("ASTM record text must not contain control bytes, CR or LF")
    text = record_bytes + b"\r"
    chunks = [text[i : i + max_text] for i in range(0, len(text), max_text)]
    return [
        encode_frame(first_fn + i, chunk, final=i == len(chunks) - 1)
        for i, chunk in enumerate(chunks)
    ]


def _parse(raw: bytes, tail: bytes, *, checksum_required: bool) -> Frame:
    """Build a frame from ``STX FN text ETB|ETX`` in ``raw[:-len(tail)]`` and its trailer."""
    body = raw[1 : len(raw) - len(tail)]
    sent = tail.rstrip(b"\r\n")
    if sent:
        ok = len(sent) == 2 and _HEX_PAIR(sent) is not None and int(sent, 16) == sum(body) & 0xFF
    else:
        ok = not checksum_required
    digit = body[0] - 0x30 if len(body) > 1 else -1
    return Frame(
        fn=digit if 0 <= digit <= 7 else None,
        text=body[1:-1],
        final=body[-1] == ETX,
        checksum_ok=ok,
        raw=raw,
    )


class FrameDecoder:
    """Splits a byte stream cut anywhere into frames, control bytes and garbage, in order."""

    def __init__(
        self,
        *,
        lf_required: bool = False,
        checksum_required: bool = True,
        max_frame_bytes: int = 1 << 16,
    ) -> None:
        self._lf_required = lf_required
        self._checksum_required = checksum_required
        self._max = max_frame_bytes
        self._frame: bytearray | None = None  # None: between frames
        self._tail_at = -1  # index just after ETB/ETX in the frame, -1 before the terminator
        self._garbage = bytearray()
        self._skipping = False  # inside an oversized frame: drop up to the next cutter

    @property
    def in_frame(self) -> bool:
        """A frame has started and not ended."""
        return self._frame is not None

    def receive_data(self, data: bytes) -> list[Item]:
        """Feed bytes as they arrived; return the items they completed."""
        items: list[Item] = []
        i, end = 0, len(data)
        while i < end:
            frame = self._frame
            if frame is None and data[i] == STX and (after := self._wholes(data, i, items)):
                i = after
                continue
            # Runs of ordinary bytes are taken in one slice; only special bytes go one by one.
            if frame is None:
                found = _CUTTER_SEARCH(data, i)
                stop = found.start() if found else end
                if stop > i and not self._skipping:
                    self._garbage += data[i:stop].translate(None, b"\r\n")
            elif self._tail_at < 0:
                found = _SPECIAL_SEARCH(data, i)
                stop = found.start() if found else end
                fits = len(frame) + stop - i + 5 <= self._max
                if found and fits and _WHOLE_TAIL(data, stop):
                    # The usual case, a terminator with its checksum and CR LF all here.
                    frame += data[i:stop]
                    self._tail_at = len(frame) + 1
                    # CR ends a frame unless LF is required; a lone LF after it is skipped.
                    frame += data[stop : stop + (5 if self._lf_required else 4)]
                    self._emit(frame, items)
                    i = stop + 5
                    continue
                frame += data[i:stop]
                if len(frame) > self._max:
                    items.append(Garbage(f"frame longer than {self._max} bytes", bytes(frame[:64])))
                    self._frame, self._skipping = None, True
            else:
                stop = i
            if stop > i:
                i = stop
                continue
            if frame is None:
                self._outside(data[i], items)
            else:
                self._inside(frame, data[i], items)
            i += 1
        self._flush_garbage(items)
        return items

    def _wholes(self, data: bytes, start: int, items: list[Item]) -> int:
        """The usual case: well-formed frames back to back from ``start``, each read in one match.

        Returns:
            Where the last of them ends in ``data``, or 0 when the byte-wise path must take it.
        """
        whole = _WHOLE_FRAME(data, start)
        if whole is None or whole.end() - start > self._max:
            return 0
        self._skipping = False
        self._flush_garbage(items)
        limit, trailer = self._max, 0 if self._lf_required else 1
        while whole is not None and (end := whole.end()) - start <= limit:
            checksum_at = end - 4  # two hex digits, CR, LF
            body = data[start + 1 : checksum_at]
            digit = body[0] - 0x30 if len(body) > 1 else -1
            items.append(
                Frame(
                    digit if 0 <= digit <= 7 else None,
                    body[1:-1],
                    body[-1] == ETX,
                    int(data[checksum_at : checksum_at + 2], 16) == sum(body) & 0xFF,
                    data[start : end - trailer],
                )
            )
            start = end
            whole = _WHOLE_FRAME(data, start)
        return start

    def _outside(self, byte: int, items: list[Item]) -> None:
        if byte in _CUTTERS:
            self._skipping = False
            self._flush_garbage(items)
            if byte == STX:
                self._frame, self._tail_at = bytearray((STX,)), -1
            else:
                items.append(Control(byte))
        elif not self._skipping and byte not in (CR, LF):
            self._garbage.append(byte)

    def _inside(self, frame: bytearray, byte: int, items: list[Item]) -> None:
        tail = self._tail_at >= 0
        if byte in _CUTTERS:
            checksum_seen = len(frame) - self._tail_at >= 2 or not self._checksum_required
            if tail and checksum_seen and not self._lf_required:
                self._emit(frame, items)
            else:
                items.append(Garbage("frame cut by a control byte", bytes(frame)))
                self._frame = None
            self._outside(byte, items)
            return
        frame.append(byte)
        if not tail and byte in (ETX, ETB):
            self._tail_at = len(frame)
        elif tail and (byte == LF or (byte == CR and not self._lf_required)):
            self._emit(frame, items)
        elif len(frame) > self._max:
            items.append(Garbage(f"frame longer than {self._max} bytes", bytes(frame[:64])))
            self._frame, self._skipping = None, True

    def _emit(self, frame: bytearray, items: list[Item]) -> None:
        raw = bytes(frame)
        tail = raw[self._tail_at :]
        items.append(_parse(raw, tail, checksum_required=self._checksum_required))
        self._frame = None

    def _flush_garbage(self, items: list[Item]) -> None:
        if self._garbage:
            items.append(Garbage("bytes outside a frame", bytes(self._garbage)))
            self._garbage.clear()
