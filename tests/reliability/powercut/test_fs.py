"""The power-cut filesystem itself: only fsynced bytes and names survive the plug."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import PYTHON
from tests.reliability.powercut import PowerCutFS, fuse_unavailable


@pytest.fixture
def fs(tmp_path: Path) -> Iterator[PowerCutFS]:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with PowerCutFS(tmp_path) as mounted:
        yield mounted


def write(path: Path, data: bytes, *, sync: bool, flags: int = os.O_CREAT) -> None:
    fd = os.open(path, os.O_WRONLY | flags, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_unsynced_bytes_are_gone_synced_bytes_kept_unsynced_files_vanish(
    fs: PowerCutFS,
) -> None:
    root = fs.mountpoint
    write(root / "kept", b"synced", sync=True)
    write(root / "kept", b"-then unsynced", sync=False, flags=os.O_APPEND)
    write(root / "tail", b"0123456789", sync=True)
    write(root / "tail", b"AB", sync=False)  # overwrites 01, never synced
    write(root / "never-synced", b"lost", sync=False)
    (root / "dir").mkdir()
    write(root / "dir" / "inner", b"x", sync=False)

    report = fs.cut()

    assert (root / "kept").read_bytes() == b"synced"
    assert (root / "tail").read_bytes() == b"0123456789"
    assert sorted(os.listdir(root)) == ["kept", "tail"]
    assert report.unsynced_bytes == len(b"-then unsynced") + 2 + len(b"lost") + 1
    assert report.unsynced_names == 2  # never-synced, dir/inner


def test_a_directory_fsync_makes_names_durable_but_not_their_data(fs: PowerCutFS) -> None:
    root = fs.mountpoint
    write(root / "named", b"data never synced", sync=False)
    (root / "sub").mkdir()
    sync_dir(root)

    fs.cut()

    assert (root / "named").read_bytes() == b""  # the name survived, its data did not
    assert (root / "sub").is_dir()
    assert os.listdir(root / "sub") == []


def test_unlink_and_rename_are_durable_only_after_the_directory_fsync(fs: PowerCutFS) -> None:
    root = fs.mountpoint
    for name in ("a", "b", "c", "d"):
        write(root / name, name.encode(), sync=True)
    (root / "a").unlink()
    (root / "b").rename(root / "b2")
    fs.cut()
    assert sorted(os.listdir(root)) == ["a", "b", "c", "d"]

    (root / "c").unlink()
    (root / "d").rename(root / "d2")
    sync_dir(root)
    fs.cut()
    assert sorted(os.listdir(root)) == ["a", "b", "d2"]
    assert (root / "d2").read_bytes() == b"d"


def test_a_rename_synced_on_one_side_only_leaves_both_names(fs: PowerCutFS) -> None:
    root = fs.mountpoint
    for folder in ("from", "to"):
        (root / folder).mkdir()
    sync_dir(root)
    write(root / "from" / "f", b"payload", sync=True)
    sync_dir(root / "from")
    (root / "from" / "f").rename(root / "to" / "f")
    sync_dir(root / "to")  # the old directory's removal of the name was never synced

    fs.cut()

    assert (root / "from" / "f").read_bytes() == b"payload"
    assert (root / "to" / "f").read_bytes() == b"payload"
    (root / "to" / "f").write_bytes(b"changed")  # two files now, not one with two names
    assert (root / "from" / "f").read_bytes() == b"payload"


def test_a_frozen_disk_fails_every_operation_until_it_boots(fs: PowerCutFS) -> None:
    write(fs.mountpoint / "f", b"x", sync=True)
    fs.power_off()
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        (fs.mountpoint / "f").read_bytes()
    fs.boot()
    assert (fs.mountpoint / "f").read_bytes() == b"x"


# A writer that commits, says so, and waits to be killed with its connection open (closing it
# would checkpoint and sync, which is not what a power cut allows).
WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
assert db.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
db.execute("PRAGMA synchronous=" + sys.argv[2])
db.execute("CREATE TABLE t (x BLOB)")
for _ in range(200):
    db.execute("INSERT INTO t VALUES (randomblob(300))")
print("committed", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(("synchronous", "survivors"), [("FULL", 200), ("NORMAL", 0)])
def test_sqlite_wal_commits_survive_only_when_fsynced(
    fs: PowerCutFS, synchronous: str, survivors: int
) -> None:
    """The store's own setup in miniature: WAL, one connection, one fsync per commit in FULL."""
    path = fs.mountpoint / "t.db"
    writer = subprocess.Popen(
        [PYTHON, "-c", WRITER, str(path), synchronous], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None

    def kill() -> None:
        writer.kill()
        writer.wait()

    with writer:
        assert writer.stdout.readline() == "committed\n"
        fs.cut(kill=kill)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()
        rows = db.execute("SELECT count(*) FROM t").fetchone()[0] if tables == (1,) else 0
    finally:
        db.close()
    assert rows == survivors
