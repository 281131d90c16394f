"""Big-endian reading and writing with bounds checks (the Data Export protocol is big-endian).

Every structure in the protocol is a run of u8/u16/u32 fields and length-prefixed blocks, so a
reader that refuses to run past its end turns any truncated or lying length into one declared
error, :class:`PduError`, instead of an ``IndexError`` deep in a decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


class PduError(ValueError):
    """Bytes that are not a PDU we can read: too short, a length that lies, an unknown type."""


@dataclass
class Reader:
    data: bytes
    pos: int = 0
    end: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.end < 0:
            self.end = len(self.data)

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise PduError(f"needs {n} bytes at offset {self.pos}, {self.remaining} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def sub(self, n: int) -> Reader:
        """A reader over the next ``n`` bytes, which this reader skips."""
        start = self.pos
        self.take(n)
        return Reader(self.data, start, start + n)

    def rest(self) -> bytes:
        return self.take(self.remaining)


def u16(value: int) -> bytes:
    return struct.pack(">H", value)


def u32(value: int) -> bytes:
    return struct.pack(">I", value)
