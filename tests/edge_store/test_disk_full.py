"""A disk that really runs out (ENOSPC under SQLite) is a full store, like the headroom check.

The store checks ``statvfs`` before an append, but the check cannot see what SQLite will write
(WAL frames of whole pages, index pages): with a few KiB free the check passes and the commit
gets ``ENOSPC``, which SQLite reports as ``SQLITE_FULL``. That must reach the caller as
:class:`StoreFullError` too, or the gateway takes it for some other failure: it does not give
back the device's sequence number (the centre then sees a gap, as if a result were lost),
does not count the refusal and leaves ``/readyz`` green (found by
``tests/reliability/test_full_disk.py``).

The disk is the power-cut FUSE filesystem with a capacity (real ``ENOSPC`` from the kernel).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_store import Outbox, State, StoreFullError
from tests.edge_store.factories import new_entry
from tests.reliability.powercut import PowerCutFS, fuse_unavailable

CAPACITY = 4 << 20
LEAVE = 6000
"""Free bytes left: ``statvfs`` shows one 4 KiB block, more than a row's estimate, less than
the WAL frames its commit needs."""


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with PowerCutFS(tmp_path / "disk", capacity=CAPACITY) as mounted:
        yield mounted.mountpoint


def fill_leaving(root: Path, leave: int) -> Path:
    used = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    filler = root / "filler"
    with filler.open("wb", buffering=0) as out:
        out.write(b"\0" * (CAPACITY - used - leave))
    return filler


def test_sqlite_full_on_append_is_a_store_full_error_and_stores_nothing(disk: Path) -> None:
    store = Outbox(disk / "outbox.db", min_free_bytes=0)
    store.append([new_entry(0)])
    filler = fill_leaving(disk, LEAVE)
    assert os.statvfs(disk).f_bavail > 0  # the headroom check lets the append through

    with pytest.raises(StoreFullError) as refused:
        store.append([new_entry(1)])
    assert "disk" in refused.value.reason
    with pytest.raises(StoreFullError):
        store.append([new_entry(2)])  # still full: refused again, the store still answers
    assert [e.id for e in store.list()] == [new_entry(0).id]

    filler.unlink()
    store.append([new_entry(1)])
    assert [(e.id, e.state) for e in store.list()] == [
        (new_entry(0).id, State.PENDING),
        (new_entry(1).id, State.PENDING),
    ]
    store.close()
