r"""ASTM records with no E1381 link layer ("ASTM over TCP"), sans-IO: bytes in, messages out.

Many analyzers on a LAN send bare E1394 records (``H|\^&…<CR>…L|1|N<CR>``) with no ENQ, frames,
checksums or EOT, and expect no answer. A message runs from an H record to its L record;
records end with CR, LF or CRLF (vendors differ); a frame digit glued to a record (``1H|``) is
left for the record layer to strip. Bytes before the first H are line noise, reported as such.
There is no acknowledgement to hold, so nothing here can ask the analyzer to resend: the caller
must keep what it cannot store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RECORD_END = re.compile(rb"\r\n|\r|\n")
_HEADER = re.compile(rb"[0-7]?H[^A-Za-z0-9\s]")
_TERMINATOR = re.compile(rb"[0-7]?L(?:[^A-Za-z0-9\s]|$)")


_FRAMED_START = re.compile(rb"[\x02\x05]")
_BARE_START = re.compile(rb"(?:^|[\r\n])[0-7]?H[^A-Za-z0-9\s]")


def detect_framing(data: bytes) -> bool | None:
    """Whether a connection speaks E1381 (``True``) or bare records (``False``), once it shows.

    The first ENQ or STX means frames; an H record at the start of a line, before any of them,
    means bare records (PROTOCOLS §1). Line noise before either decides nothing (``None``), so
    a burst of garbage at power-up cannot make a framed analyzer look bare.
    """
    framed = _FRAMED_START.search(data)
    bare = _BARE_START.search(data)
    if framed is None and bare is None:
        return None
    return bare is None or (framed is not None and framed.start() < bare.start())


@dataclass(frozen=True, slots=True)
class BareMessage:
    records: list[bytes]
    raw: bytes


@dataclass(frozen=True, slots=True)
class BareNoise:
    reason: str
    raw: bytes


class BareRecordReader:
    """Collects records into H…L messages; a message over ``max_bytes`` is dropped as noise."""

    def __init__(self, max_bytes: int = 1 << 20) -> None:
        self._max_bytes = max_bytes
        self._buffer = b""
        self._records: list[bytes] = []
        self._size = 0

    @property
    def receiving(self) -> bool:
        """A message is started and not yet complete."""
        return bool(self._records or self._buffer.strip())

    def receive_data(self, data: bytes) -> list[BareMessage | BareNoise]:
        self._buffer += data
        *lines, self._buffer = _RECORD_END.split(self._buffer)
        items: list[BareMessage | BareNoise] = []
        for line in lines:
            self._line(line, items)
        if self._size + len(self._buffer) > self._max_bytes:
            items.append(self._drop(f"message exceeds {self._max_bytes} bytes"))
        return items

    def close(self) -> list[BareMessage | BareNoise]:
        """The connection ended: a started message without its L record, as it stands."""
        items: list[BareMessage | BareNoise] = []
        if self._buffer.strip():
            self._line(self._buffer, items)
        self._buffer = b""
        if self._records:
            items.append(BareMessage(self._records, b"\r".join(self._records) + b"\r"))
            self._records, self._size = [], 0
        return items

    def _line(self, line: bytes, items: list[BareMessage | BareNoise]) -> None:
        if not line.strip():
            return
        if _HEADER.match(line) and self._records:
            # A new H without an L before it: the previous message ends here.
            items.append(BareMessage(self._records, b"\r".join(self._records) + b"\r"))
            self._records, self._size = [], 0
        if not self._records and not _HEADER.match(line):
            items.append(BareNoise("record outside an H…L message", line))
            return
        self._records.append(line)
        self._size += len(line) + 1
        if self._size > self._max_bytes:
            items.append(self._drop(f"message exceeds {self._max_bytes} bytes"))
        elif _TERMINATOR.match(line):
            items.append(BareMessage(self._records, b"\r".join(self._records) + b"\r"))
            self._records, self._size = [], 0

    def _drop(self, reason: str) -> BareNoise:
        raw = b"\r".join([*self._records, self._buffer])
        self._records, self._buffer, self._size = [], b"", 0
        return BareNoise(reason, raw)
