"""Where the reference consumer writes its JSON lines, and how it makes them durable.

An end-to-end ack tells the gateway it may forget an envelope, so the consumer sends one only
after the line is on disk: each line is written straight to the file (no buffer that a later
flush could fail to empty), and :meth:`JsonLinesOutput.sync` fsyncs the batch before its acks
leave. A write that fails (disk full, file size limit) raises ``OSError``; the consumer then
stops and acknowledges nothing more.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO


class JsonLinesOutput:
    def __init__(self, path: Path | None) -> None:
        self.name = str(path) if path is not None else "stdout"
        self._stream: BinaryIO
        if path is None:
            self._stream = sys.stdout.buffer
            self._durable = False  # a pipe or a terminal: flushed, nothing to fsync
        else:
            self._stream = path.open("ab", buffering=0)
            # Only a regular file can be fsynced: a device such as /dev/null or a named pipe
            # answers EINVAL, and holds nothing that could be made durable anyway.
            self._durable = stat.S_ISREG(os.fstat(self._stream.fileno()).st_mode)
            if self._durable:
                # Lines an earlier run wrote (and perhaps acked) must be on disk before more acks.
                os.fsync(self._stream.fileno())

    def write_line(self, line: bytes) -> None:
        """Write one line to the file (the kernel has it when this returns)."""
        view = memoryview(line + b"\n")
        while view:
            written = self._stream.write(view)
            view = view[written:]
        self._stream.flush()

    def sync(self) -> None:
        """Make every line written so far durable (fsync); raises ``OSError`` if it cannot."""
        self._stream.flush()
        if self._durable:
            os.fsync(self._stream.fileno())

    def close(self) -> None:
        if self._stream is not sys.stdout.buffer:
            with contextlib.suppress(OSError):  # already reported by the failed write or sync
                self._stream.close()
