"""The store holds patient data: its files are the gateway user's only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_store import Outbox
from tests.edge_store.factories import new_entry


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, under which SQLite's own files come out 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_its_wal_and_shm_are_owner_only(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "state" / "outbox.db"
    store = Outbox(path, owner=True)
    try:
        store.append([new_entry(1)])  # the WAL and its index exist while the store is open
        files = {p.name: mode(p) for p in path.parent.iterdir()}
    finally:
        store.close()
    assert files == {
        "outbox.db": 0o600,
        "outbox.db-wal": 0o600,
        "outbox.db-shm": 0o600,
        "outbox.db.lock": 0o600,
    }
    assert mode(path.parent) == 0o700


def test_a_store_created_world_readable_is_tightened(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "outbox.db"
    Outbox(path).close()
    path.chmod(0o644)  # as an older version left it
    wal = path.with_name("outbox.db-wal")
    wal.write_bytes(b"")
    wal.chmod(0o644)
    Outbox(path).close()
    assert mode(path) == 0o600
    assert not wal.exists() or mode(wal) == 0o600
