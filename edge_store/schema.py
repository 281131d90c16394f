"""Table definitions of the outbox file, shared statements, and the check that a file is one.

The file is validated with the plain ``sqlite3`` module *before* SQLAlchemy opens it, because
opening through the engine switches the journal to WAL, which would modify a foreign database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    Table,
    Text,
    func,
    insert,
)

from edge_store.errors import ForeignDatabaseError, StoreCorruptError, StoreError, StoreInUseError
from edge_store.records import State, StoredEntry

APPLICATION = "wardlink-outbox"
SCHEMA_VERSION = 1

_SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

metadata = MetaData()

outbox = Table(
    "outbox",
    metadata,
    Column("rowid", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, unique=True, nullable=False),
    Column("device", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("lane", Integer, nullable=False),
    Column("topic", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("state", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    Column("acked_at", Float, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("note", Text, nullable=True),
    sqlite_autoincrement=True,
)

# When a row was delivered: acked_at in end-to-end mode, else whichever of the two is set.
delivered_at = func.coalesce(outbox.c.acked_at, outbox.c.sent_at)

# Claiming walks pending rows of one lane in rowid order; pruning walks delivered rows by age.
Index("ix_outbox_state_lane_rowid", outbox.c.state, outbox.c.lane, outbox.c.rowid)
Index("ix_outbox_state_delivered_at", outbox.c.state, delivered_at)

# Keys of device messages already stored, so a message sent again after a lost answer (the
# gateway crashed between commit and ACK) is not stored twice; recent ones per device only.
device_message = Table(
    "device_message",
    metadata,
    Column("device", Text, primary_key=True),
    Column("message_key", Text, primary_key=True),
    Column("stored_at", Float, nullable=False),
)
Index("ix_device_message_device_stored_at", device_message.c.device, device_message.c.stored_at)

device_sequence = Table(
    "device_sequence",
    metadata,
    Column("device", Text, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


_CHUNK = 500

_T = TypeVar("_T")


def chunks(items: Iterable[_T]) -> Iterator[list[_T]]:
    """Split ids for ``IN (...)`` clauses so no statement nears SQLite's parameter limit."""
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


# The columns StoredEntry carries, in its field order; timestamps of delivery stay in the file.
ENTRY_COLUMNS = [outbox.c[f.name] for f in fields(StoredEntry)]


def to_entry(row: Row[tuple[object, ...]]) -> StoredEntry:
    """Build a ``StoredEntry`` from a row selected with ``ENTRY_COLUMNS``."""
    values = dict(row._mapping)
    values["state"] = State(values["state"])
    return StoredEntry(**values)


def check_file(path: Path, busy_timeout_s: float) -> bool:
    """Validate an existing file before the engine touches it.

    Args:
        path: The outbox file; it may not exist yet.
        busy_timeout_s: How long to wait for another process's lock.

    Returns:
        True when the schema must be created (missing or empty file), False for an outbox.

    Raises:
        StoreCorruptError: Not a SQLite file, or ``PRAGMA quick_check`` fails.
        ForeignDatabaseError: A SQLite database with tables but without our marker.
        StoreInUseError: Another process keeps the file locked.
        StoreError: An outbox written by a newer, incompatible schema version.
    """
    if not path.exists() or path.stat().st_size == 0:
        return True
    with path.open("rb") as raw:
        if raw.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise StoreCorruptError(path, "no SQLite header")
    conn = sqlite3.connect(path, timeout=busy_timeout_s)
    try:
        check = conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise StoreCorruptError(path, f"quick_check: {check[0][0]}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return True
        if "store_meta" not in tables:
            raise ForeignDatabaseError(path)
        meta = dict(conn.execute("SELECT key, value FROM store_meta").fetchall())
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise StoreInUseError(path) from exc
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise StoreCorruptError(path, str(exc)) from exc
        raise StoreError(f"cannot read outbox file {path}: {exc}") from exc
    finally:
        conn.close()
    if meta.get("application") != APPLICATION:
        raise ForeignDatabaseError(path)
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise StoreError(
            f"outbox {path} has schema version {meta.get('schema_version')}, this gateway "
            f"understands {SCHEMA_VERSION}: run the gateway version that wrote it to drain it."
        )
    return False


def add_missing_tables(conn: Connection) -> None:
    """Create tables a newer gateway added (additive only: older gateways ignore them)."""
    metadata.create_all(conn, tables=[device_message])


def create_schema(conn: Connection) -> None:
    """Create tables and the ownership marker inside the caller's transaction."""
    metadata.create_all(conn)
    conn.execute(
        insert(store_meta),
        [
            {"key": "application", "value": APPLICATION},
            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
        ],
    )
