"""The power-cut filesystem with a capacity: a real ENOSPC, a consistent statvfs, space freed."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.powercut import PowerCutFS, fuse_unavailable

CAPACITY = 1 << 20
CHUNK = 64 * 1024


@pytest.fixture
def small(tmp_path: Path) -> Iterator[PowerCutFS]:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with PowerCutFS(tmp_path, capacity=CAPACITY) as mounted:
        yield mounted


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(path: Path) -> int:
    """Write chunks to ``path`` until the disk refuses; the bytes it took."""
    written = 0
    with path.open("wb", buffering=0) as filler:
        while True:
            try:
                written += filler.write(b"\0" * CHUNK)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return written


def test_writes_past_the_capacity_fail_with_enospc_and_statvfs_agrees(small: PowerCutFS) -> None:
    root = small.mountpoint
    assert os.statvfs(root).f_blocks * os.statvfs(root).f_frsize == CAPACITY
    assert free_bytes(root) == CAPACITY

    taken = fill(root / "filler")

    assert CAPACITY - CHUNK < taken <= CAPACITY
    assert free_bytes(root) < CHUNK
    with pytest.raises(OSError, match="No space left on device"):
        (root / "more").write_bytes(b"x" * CHUNK)
    (root / "filler").unlink()
    assert free_bytes(root) == CAPACITY - (root / "more").stat().st_size
    (root / "more").write_bytes(b"x" * CHUNK)  # space freed is usable at once


def test_sqlite_on_a_full_disk_reports_it_full_and_works_again_once_space_is_freed(
    small: PowerCutFS,
) -> None:
    root = small.mountpoint
    db = sqlite3.connect(root / "t.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (v BLOB)")
    db.commit()
    fill(root / "filler")

    def insert_until_refused() -> None:
        for _ in range(64):
            db.execute("INSERT INTO t VALUES (?)", (os.urandom(CHUNK),))
            db.commit()

    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        insert_until_refused()
    db.rollback()
    (root / "filler").unlink()
    db.execute("INSERT INTO t VALUES (?)", (b"after",))
    db.commit()
    assert db.execute("SELECT count(*) FROM t WHERE v = ?", (b"after",)).fetchone() == (1,)
    db.close()
