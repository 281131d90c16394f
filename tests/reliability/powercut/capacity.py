"""A capacity for the power-cut filesystem: past it, writes fail with ``ENOSPC``, as a full disk.

The full-disk test (:mod:`tests.reliability.test_full_disk`) needs a filesystem that really runs
out of space under an unchanged gateway: SQLite's own writes, the reject archive's ``os.write``
and the test's filler file all get ``ENOSPC`` from the kernel, and ``statvfs`` (which the
gateway reads for ``min_free_mb``) reports the same small free space. A tmpfs with ``size=``
would do it, but mounting one needs privileges; this FUSE mount does not.

Used space is the sum of the live files' sizes (what ``du --apparent-size`` says), listed on
each growing write: the store directory holds a few dozen files, so that costs microseconds. A
write or truncate that would grow the files past the capacity fails whole with ``ENOSPC``;
shrinking, deleting and rewriting in place always work, so deleting a file frees its space at
once (an unlinked file still open is not counted: close enough for a test of the gateway).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import mfusepy  # type: ignore[import-untyped]

from tests.reliability.powercut.operations import PowerCutOps

BLOCK = 4096


class CappedOps(PowerCutOps):
    """The power-cut operations on a disk of ``capacity`` bytes."""

    def __init__(self, backing: Path, capacity: int) -> None:
        super().__init__(backing)
        self.capacity = capacity

    def used(self) -> int:
        return sum(
            os.lstat(os.path.join(folder, name)).st_size
            for folder, _, files in os.walk(self.model.live_root)
            for name in files
        )

    def _reserve(self, growth: int) -> None:
        if growth > 0 and self.used() + growth > self.capacity:
            raise mfusepy.FuseOSError(errno.ENOSPC)

    # Not wrapped in ``operation`` again: the lock is reentrant and the base methods check
    # for a frozen disk themselves.
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self.mutex:
            self._reserve(offset + len(data) - os.fstat(fh).st_size)
            return super().write(path, data, offset, fh)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        with self.mutex:
            size = (
                os.fstat(fh).st_size if fh is not None else os.lstat(self.model.real(path)).st_size
            )
            self._reserve(length - size)
            return super().truncate(path, length, fh)

    def statfs(self, path: str) -> dict[str, int]:
        with self.mutex:
            stats = super().statfs(path)
            free = max(0, self.capacity - self.used()) // BLOCK
        stats.update(
            f_bsize=BLOCK,
            f_frsize=BLOCK,
            f_blocks=self.capacity // BLOCK,
            f_bfree=free,
            f_bavail=free,
        )
        return stats
