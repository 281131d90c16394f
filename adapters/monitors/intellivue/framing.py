"""MIB/RS232 framing of Data Export PDUs: BOF, byte stuffing, PPP FCS-16, EOF (PROTOCOLS §9.9).

A frame on the wire is ``C0 | stuffed(header + PDU + FCS) | C1``:

- Stuffing: ``C0``, ``C1`` and ``7D`` inside a frame are sent as ``7D`` then the byte XOR
  ``20``, as in PPP (RFC 1662 §4.2), so BOF and EOF never appear inside.
- FCS: the 16-bit PPP FCS of RFC 1662 Appendix C (reflected CRC-CCITT, initial ``FFFF``, ones'
  complement sent least significant octet first), over the header and the PDU. A receiver that
  runs the FCS over the frame *with* its FCS gets the constant ``F0B8``.
- Header: ``protocol_id 0x11, msg_type 0x01, length u16`` of the PDU. **Unverified**: taken
  from the Programming Guide's transport section as remembered, not confirmed in a public
  source we could read; :class:`FrameDecoder` therefore also accepts a frame without it (a
  PDU starts with a session byte ``0D 0E 0C 09 0A 19 E1`` or the Connect Indication's
  ``00``, never with ``11 01``), and ``with_header=False`` sends without it.

:class:`FrameDecoder` is streaming and never raises: any byte stream, split anywhere, gives
:class:`Frame` items (the PDU) or :class:`FrameError` items saying why bytes were dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

BOF = 0xC0
EOF = 0xC1
ESCAPE = 0x7D
ESCAPE_XOR = 0x20
FCS_INITIAL = 0xFFFF
FCS_GOOD = 0xF0B8
PROTOCOL_ID = 0x11
MESSAGE_TYPE = 0x01
HEADER_SIZE = 4
MAX_FRAME_BYTES = 4096  # the MIB/RS232 MTU is 1000 bytes of command (Programming Guide)

_NEEDS_ESCAPE = frozenset({BOF, EOF, ESCAPE})


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ 0x8408 if value & 1 else value >> 1
        table.append(value)
    return tuple(table)


_FCS_TABLE = _table()


def fcs16(data: bytes, fcs: int = FCS_INITIAL) -> int:
    """The running PPP FCS-16 of ``data`` (RFC 1662 Appendix C.2), before the complement."""
    for byte in data:
        fcs = (fcs >> 8) ^ _FCS_TABLE[(fcs ^ byte) & 0xFF]
    return fcs


def with_fcs(data: bytes) -> bytes:
    """``data`` followed by its FCS, ones' complement, least significant octet first."""
    fcs = fcs16(data) ^ 0xFFFF
    return data + bytes((fcs & 0xFF, fcs >> 8))


def stuff(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte in _NEEDS_ESCAPE:
            out += bytes((ESCAPE, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)


def encode_frame(pdu: bytes, *, with_header: bool = True) -> bytes:
    """One frame carrying ``pdu``."""
    body = (
        bytes((PROTOCOL_ID, MESSAGE_TYPE)) + len(pdu).to_bytes(2, "big") + pdu
        if with_header
        else pdu
    )
    return bytes((BOF,)) + stuff(with_fcs(body)) + bytes((EOF,))


@dataclass(frozen=True, slots=True)
class Frame:
    pdu: bytes


@dataclass(frozen=True, slots=True)
class FrameError:
    reason: str
    data: bytes


class FrameDecoder:
    """Bytes in, frames or declared errors out; keeps state across calls, never raises."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._escaped = False
        self._noise = bytearray()

    def receive_data(self, data: bytes) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        for byte in data:
            if byte == BOF:
                self._flush_noise(out)
                if self._in_frame and self._buffer:
                    out.append(FrameError("frame cut by a new BOF", bytes(self._buffer)))
                self._start()
            elif not self._in_frame:
                self._noise.append(byte)
            elif byte == EOF:
                out.append(self._finish())
                self._in_frame = False
            elif self._escaped:
                self._escaped = False
                self._append(byte ^ ESCAPE_XOR, out)
            elif byte == ESCAPE:
                self._escaped = True
            else:
                self._append(byte, out)
        if len(self._noise) >= self._max:
            self._flush_noise(out)
        return out

    def _start(self) -> None:
        self._buffer.clear()
        self._in_frame, self._escaped = True, False

    def _append(self, byte: int, out: list[Frame | FrameError]) -> None:
        self._buffer.append(byte)
        if len(self._buffer) > self._max:
            out.append(FrameError(f"frame over {self._max} bytes", bytes(self._buffer)))
            self._buffer.clear()
            self._in_frame = False

    def _flush_noise(self, out: list[Frame | FrameError]) -> None:
        if self._noise:
            out.append(FrameError("bytes outside a frame", bytes(self._noise)))
            self._noise.clear()

    def _finish(self) -> Frame | FrameError:
        body = bytes(self._buffer)
        self._buffer.clear()
        if self._escaped:
            self._escaped = False
            return FrameError("escape byte before EOF", body)
        if len(body) < 3:
            return FrameError("frame too short for an FCS", body)
        if fcs16(body) != FCS_GOOD:
            return FrameError("bad FCS", body)
        return _unwrap(body[:-2])


def _unwrap(body: bytes) -> Frame | FrameError:
    if len(body) >= HEADER_SIZE and body[0] == PROTOCOL_ID and body[1] == MESSAGE_TYPE:
        length = int.from_bytes(body[2:4], "big")
        if length != len(body) - HEADER_SIZE:
            return FrameError(f"header length {length}, frame holds {len(body) - 4}", body)
        return Frame(body[HEADER_SIZE:])
    return Frame(body)
