"""Scanner line codec: bytes in, complete scans out (sans-IO, h11's ``receive_data`` shape).

A scanner in serial (USB-CDC) or TCP mode sends each scan followed by a configurable suffix
(PROTOCOLS.md §10): CR, LF or CR LF. With ``any`` every CR or LF ends a scan and empty scans are
dropped, so a CR LF suffix never yields a phantom empty scan even when it is split across reads.
Memory is bounded: a scan that grows past ``max_length`` is reported once as :class:`OverlongScan`
and its bytes are discarded up to the next terminator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Terminator = Literal["cr", "lf", "crlf", "any"]

_PATTERNS: dict[Terminator, re.Pattern[bytes]] = {
    "cr": re.compile(rb"\r"),
    "lf": re.compile(rb"\n"),
    "crlf": re.compile(rb"\r\n"),
    "any": re.compile(rb"[\r\n]"),
}


@dataclass(frozen=True)
class OverlongScan:
    """A scan longer than the limit; its bytes were dropped, never buffered without bound."""

    max_length: int


class LineSplitter:
    """Splits a byte stream into scans; keeps partial data between calls."""

    def __init__(self, terminator: Terminator = "any", max_length: int = 4096) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        self._pattern = _PATTERNS[terminator]
        # Only CR LF can be cut in half; a trailing CR may be the start of the terminator.
        self._holds_cr = terminator == "crlf"
        self._max_length = max_length
        self._buffer = bytearray()
        self._discarding = False

    def receive_data(self, data: bytes) -> list[bytes | OverlongScan]:
        """Feed bytes as they arrived; return the scans they completed, in order."""
        self._buffer += data
        items: list[bytes | OverlongScan] = []
        start = 0
        for match in self._pattern.finditer(self._buffer):
            self._end_line(bytes(self._buffer[start : match.start()]), items)
            start = match.end()
        del self._buffer[:start]
        pending = len(self._buffer)
        if self._holds_cr and self._buffer.endswith(b"\r"):
            pending -= 1
        if pending > self._max_length:
            if not self._discarding:
                items.append(OverlongScan(self._max_length))
                self._discarding = True
            del self._buffer[:pending]
        return items

    def _end_line(self, line: bytes, items: list[bytes | OverlongScan]) -> None:
        if self._discarding:
            self._discarding = False
        elif len(line) > self._max_length:
            items.append(OverlongScan(self._max_length))
        elif line:
            items.append(line)
