"""Connection settings per durability mode, transaction control, and space measurement.

Why WAL + ``synchronous=FULL`` by default: in a measured power-loss simulation WAL + NORMAL lost
hundreds of acknowledged rows without corrupting the file, WAL + FULL lost none
(RELIABILITY.md finding 4). ``relaxed`` exists for test rigs and nodes on a UPS, and survives
process crashes only.

Transactions: Python 3.11's ``sqlite3`` begins transactions implicitly and only before DML, so
the engine disables that (``isolation_level = None``) and emits ``BEGIN`` itself on every
SQLAlchemy transaction start. Each ``with conn.begin()`` block is then exactly one SQLite
transaction with one ``COMMIT`` (one fsync of the WAL in durable mode). Writers pass
``execution_options(edge_store_begin="IMMEDIATE")`` to take the write lock up front, so a
transaction never fails half-way on a lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from edge_store.errors import DiskRefusedError, StoreError
from edge_store.hot_path import driver

BEGIN_OPTION = "edge_store_begin"
IMMEDIATE = {BEGIN_OPTION: "IMMEDIATE"}

_USED_BYTES = (
    "SELECT (page_count - freelist_count) * page_size"
    " FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
)
_BEGIN_STATEMENTS = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}
# Bounds the WAL file left behind after checkpoints; it is not counted in used_bytes.
_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class Durability(StrEnum):
    """How far a committed append is guaranteed to survive."""

    DURABLE = "durable"
    """WAL + synchronous=FULL: fsync on every commit, survives power loss."""
    RELAXED = "relaxed"
    """WAL + synchronous=NORMAL: survives a process crash, may lose recent commits on power loss."""


class Shortage(StrEnum):
    """Which limit an append ran into."""

    DISK = "disk"
    QUOTA = "quota"


_SYNCHRONOUS = {Durability.DURABLE: "FULL", Durability.RELAXED: "NORMAL"}


def make_engine(path: Path, durability: Durability, busy_timeout_s: float) -> Engine:
    """Create the single-connection engine for ``path`` with the mode's PRAGMAs.

    One connection (``StaticPool``) means one SQLite writer; callers serialize access, which the
    async wrapper does with its single worker thread.
    """
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=StaticPool,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
    )
    synchronous = _SYNCHRONOUS[durability]
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode != "wal":
                raise StoreError(
                    f"{path}: SQLite refused WAL mode (got {mode!r}); the filesystem may not "
                    f"support shared memory (network share?). Use a local disk."
                )
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        kind = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(_BEGIN_STATEMENTS[kind])

    return engine


def used_bytes(conn: Connection) -> int:
    """Bytes held by live pages, so space freed by deleted rows counts as free.

    The WAL file is excluded: it is transient, bounded by ``journal_size_limit`` and
    checkpointing, and including it would make the quota jump with checkpoint timing.
    """
    (used,) = driver(conn).execute(_USED_BYTES).fetchone()  # every append: see hot_path
    return int(used)


def free_disk_bytes(directory: Path) -> int:
    """Bytes an unprivileged process may still write on the filesystem holding ``directory``."""
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def disk_refused(exc: BaseException) -> bool:
    """Whether a driver error is SQLite's ``SQLITE_FULL``: the filesystem refused a write.

    The headroom check reads ``statvfs`` before a commit but cannot know how many WAL frames
    the commit writes, so a nearly full disk can still refuse it (``ENOSPC``).
    """
    orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's exception
    return isinstance(orig, sqlite3.Error) and orig.sqlite_errorcode == sqlite3.SQLITE_FULL


@contextmanager
def disk_refusals_raised(path: Path) -> Iterator[None]:
    """Turn SQLite's ``SQLITE_FULL`` inside the block into :class:`DiskRefusedError`."""
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        if disk_refused(exc):
            raise DiskRefusedError(path) from exc
        raise


def find_shortage(
    used: int, incoming: int, free: int, *, quota: int | None, min_free: int
) -> tuple[Shortage, str] | None:
    """Decide whether ``incoming`` more bytes may be stored; return the limit hit and why.

    Disk headroom is checked first: pruning rows cannot help it, because SQLite keeps freed
    pages inside the file for reuse instead of returning them to the filesystem.
    """
    if free - incoming < min_free:
        return Shortage.DISK, f"filesystem has {free} bytes free, minimum is {min_free}"
    if quota is not None and used + incoming > quota:
        return Shortage.QUOTA, f"a batch of ~{incoming} bytes does not fit the quota"
    return None
