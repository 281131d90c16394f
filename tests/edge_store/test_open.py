"""Opening files: durability PRAGMAs, foreign databases, corrupt files, newer schemas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge_store import (
    Durability,
    ForeignDatabaseError,
    Outbox,
    StoreCorruptError,
    StoreError,
    StoreInUseError,
)
from tests.edge_store.factories import new_entry


def _pragma(store: Outbox, name: str) -> object:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()


@pytest.mark.parametrize(
    ("durability", "synchronous"), [(Durability.DURABLE, 2), (Durability.RELAXED, 1)]
)
def test_durability_mode_sets_wal_and_synchronous(
    db_path: Path, durability: Durability, synchronous: int
) -> None:
    store = Outbox(db_path, durability=durability, min_free_bytes=0)
    store.append([new_entry(0)])
    assert _pragma(store, "journal_mode") == "wal"
    assert _pragma(store, "synchronous") == synchronous
    assert _pragma(store, "busy_timeout") == 5000
    store.close()


def test_default_durability_is_durable(db_path: Path) -> None:
    store = Outbox(db_path, min_free_bytes=0)
    assert store.durability is Durability.DURABLE
    assert _pragma(store, "synchronous") == 2
    store.close()


def test_new_store_carries_the_ownership_marker(db_path: Path) -> None:
    Outbox(db_path, min_free_bytes=0).close()
    with sqlite3.connect(db_path) as conn:
        meta = dict(conn.execute("SELECT key, value FROM store_meta").fetchall())
    conn.close()
    assert meta == {"application": "wardlink-outbox", "schema_version": "1"}


def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox" / "outbox.db"
    Outbox(path, min_free_bytes=0).close()
    assert path.exists()


def test_foreign_database_is_refused_and_left_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()

    with pytest.raises(ForeignDatabaseError) as err:
        Outbox(db_path, min_free_bytes=0)
    assert str(db_path) in str(err.value)
    assert "not a WardLink outbox" in str(err.value)
    assert db_path.read_bytes() == before
    assert isinstance(err.value, StoreError)


def test_empty_sqlite_database_is_adopted(db_path: Path) -> None:
    sqlite3.connect(db_path).close()
    db_path.write_bytes(b"")
    store = Outbox(db_path, min_free_bytes=0)
    assert store.append([new_entry(0)]) == [1]
    store.close()


def test_garbage_file_is_reported_as_corrupt(db_path: Path) -> None:
    db_path.write_bytes(b"this is a lab report, not a database\n" * 200)
    with pytest.raises(StoreCorruptError) as err:
        Outbox(db_path, min_free_bytes=0)
    assert str(db_path) in str(err.value)
    assert "move the file aside" in str(err.value)


def test_damaged_pages_are_reported_as_corrupt(db_path: Path) -> None:
    store = Outbox(db_path, min_free_bytes=0)
    store.append([new_entry(n) for n in range(200)])
    store.close()
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 3 : page_size * 6] = b"\xa5" * (page_size * 3)
    db_path.write_bytes(bytes(data))

    with pytest.raises(StoreCorruptError, match="move the file aside"):
        Outbox(db_path, min_free_bytes=0)


def test_newer_schema_version_is_refused(db_path: Path) -> None:
    Outbox(db_path, min_free_bytes=0).close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE store_meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 2"):
        Outbox(db_path, min_free_bytes=0)


def test_file_locked_by_another_process_is_reported_as_in_use(db_path: Path) -> None:
    Outbox(db_path, min_free_bytes=0).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreInUseError, match="locked by another process"):
            Outbox(db_path, min_free_bytes=0, busy_timeout_s=0.05)
    finally:
        other.execute("ROLLBACK")
        other.close()
