"""Synchronous durable outbox: the gateway's only queue that survives restarts and power loss.

Rows hold opaque envelope bytes plus the routing columns the sender needs. The store commits a
whole batch in one transaction (group commit is what makes fsync-per-commit affordable), keeps
a per-device last sequence that outlives pruning, enforces a byte quota and disk headroom, and
verifies each payload's SHA-256 before handing it out, since SQLite does not checksum data.

Not thread-safe: use one instance from one thread at a time (``AsyncOutbox`` does this).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from edge_store import state_changes
from edge_store.durability import (
    IMMEDIATE,
    Durability,
    Shortage,
    disk_refusals_raised,
    find_shortage,
    free_disk_bytes,
    make_engine,
    used_bytes,
)
from edge_store.errors import DiskRefusedError, DuplicateEntryError, StoreFullError
from edge_store.hot_path import (
    MessageBatch,
    insert_messages,
    mark_rows_sent,
    pending_rows,
    prune_message_keys,
)
from edge_store.owner_lock import acquire_owner_lock, release_owner_lock
from edge_store.private_files import make_private
from edge_store.records import NewEntry, OutboxStats, State, StoredEntry
from edge_store.schema import (
    ENTRY_COLUMNS,
    add_missing_tables,
    check_file,
    chunks,
    create_schema,
    device_sequence,
    outbox,
    to_entry,
)
from edge_store.stats import read_stats

log = logging.getLogger("edge_store")


class Outbox:
    """A SQLite outbox file opened, validated and ready; rows and states persist across restarts.

    Args:
        path: The database file; created (with parent directories) if missing.
        durability: ``DURABLE`` survives power loss; ``RELAXED`` only process crashes.
        quota_bytes: Cap on live database bytes; ``None`` for no cap.
        min_free_bytes: Appends fail while the filesystem has less free space than this.
        retention_s: How long delivered rows stay available for operator replay.
        end_to_end: Whether only an end-to-end ack (``ACKED``) counts as delivered; otherwise
            ``SENT`` rows are delivered too and may be pruned.
        clock: Wall-clock source in seconds, injectable for tests.
        busy_timeout_s: How long to wait for another process's lock on the file.
        owner: Take the one-gateway-per-store lock (the daemon does; inspection tools don't).

    Raises:
        StoreCorruptError: The file is damaged or not a database.
        ForeignDatabaseError: The file is some other application's database.
        StoreInUseError: Another process keeps the file locked.
    """

    def __init__(
        self,
        path: Path,
        *,
        durability: Durability = Durability.DURABLE,
        quota_bytes: int | None = None,
        min_free_bytes: int = 16 * 1024 * 1024,
        retention_s: float = 7 * 86400,
        end_to_end: bool = False,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
        owner: bool = False,
    ) -> None:
        self.path = path
        self.durability = durability
        self.quota_bytes = quota_bytes
        self._min_free_bytes = min_free_bytes
        self._retention_s = retention_s
        self._clock = clock
        self._delivered = (State.ACKED,) if end_to_end else (State.SENT, State.ACKED)
        self._shortage: Shortage | None = None  # remembered so a full store logs once
        make_private(path)
        self._owner_lock = acquire_owner_lock(path) if owner else None
        try:
            fresh = check_file(path, busy_timeout_s)
            self._engine = make_engine(path, durability, busy_timeout_s)
        except BaseException:
            if self._owner_lock is not None:
                release_owner_lock(self._owner_lock)
            raise
        with self._write() as conn:
            if fresh:
                create_schema(conn)
            else:
                add_missing_tables(conn)

    @property
    def engine(self) -> Engine:
        """The underlying engine, for diagnostics such as PRAGMA checks; never write through it."""
        return self._engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with disk_refusals_raised(self.path), self._engine.connect() as conn:
            conn.execution_options(**IMMEDIATE)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def append(self, entries: Sequence[NewEntry]) -> list[int]:
        """Store a batch in one transaction with one commit; return the rowids in entry order.

        When the quota would be passed, delivered rows are pruned first (regardless of
        retention) and the check repeated.

        Raises:
            StoreFullError: Quota or disk headroom exhausted; nothing of the batch is written.
            DuplicateEntryError: An id is already stored or repeated; nothing is written.
        """
        return [row.rowid for row in self.append_messages([(None, entries)])[0] or []]

    def append_messages(self, batches: Sequence[MessageBatch]) -> list[list[StoredEntry] | None]:
        """Store device messages in one transaction: their rows, ``None`` for one stored before.

        A message key is remembered with the message's entries, atomically, so the same
        message sent again (its answer was lost) is recognised even after a restart.

        Raises:
            StoreFullError, DuplicateEntryError: As :meth:`append`, for the whole call.
        """
        entries = [entry for _, batch in batches for entry in batch]
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            raise DuplicateEntryError(sorted({i for i in ids if ids.count(i) > 1}))
        incoming = sum(e.stored_bytes for e in entries)
        stored = self._insert(batches, ids, incoming, may_prune=True)
        if self._shortage is not None:
            log.warning("outbox accepts appends again (%s shortage over)", self._shortage)
            self._shortage = None
        return stored

    def _insert(
        self, batches: Sequence[MessageBatch], ids: list[str], incoming: int, *, may_prune: bool
    ) -> list[list[StoredEntry] | None]:
        free = free_disk_bytes(self.path.parent)
        used = 0
        try:
            with self._write() as conn:
                used = used_bytes(conn)
                shortage = find_shortage(
                    used, incoming, free, quota=self.quota_bytes, min_free=self._min_free_bytes
                )
                if shortage is None:
                    return insert_messages(conn, batches, self._clock())
        except (IntegrityError, sqlite3.IntegrityError):
            known = self._existing_ids(ids)
            if not known:
                raise
            raise DuplicateEntryError(known) from None
        except DiskRefusedError:
            # Rolled back: as full as the headroom check says, and answered the same way.
            shortage = Shortage.DISK, f"disk full: a write was refused with {free} bytes free"
        kind, reason = shortage
        if may_prune and kind is Shortage.QUOTA:
            pruned = self._delete_delivered(older_than=None)
            if pruned:
                log.warning("outbox over quota: pruned %d delivered rows before retention", pruned)
                return self._insert(batches, ids, incoming, may_prune=False)
        if kind is not self._shortage:
            log.warning("outbox refuses appends: %s (stored %d bytes)", reason, used)
            self._shortage = kind
        raise StoreFullError(used, self.quota_bytes, reason)

    def _existing_ids(self, ids: Sequence[str]) -> list[str]:
        with self._read() as conn:
            query = select(outbox.c.id)
            return sorted(
                i for c in chunks(ids) for i in conn.scalars(query.where(outbox.c.id.in_(c)))
            )

    def claim(self, lane: int, *, after_rowid: int = 0, limit: int = 500) -> list[StoredEntry]:
        """Return pending rows of ``lane`` after ``after_rowid`` in rowid (arrival) order.

        Rows whose payload no longer matches its digest are quarantined and skipped, so the
        sender never forwards silently corrupted data (RELIABILITY.md finding 10).
        """
        with self._read() as conn:
            found = pending_rows(conn, lane, after_rowid, limit)
        good: list[StoredEntry] = []
        for entry in found:
            if hashlib.sha256(entry.payload).digest() == entry.digest:
                good.append(entry)
            else:
                log.error("outbox row %d (id %s) failed its digest check", entry.rowid, entry.id)
                self.quarantine(entry.rowid, "payload digest mismatch (storage corruption)")
        return good

    def mark_sent(self, rowids: Iterable[int]) -> None:
        """Move pending rows to sent, stamping ``sent_at`` and counting the attempt."""
        rows = list(rowids)
        if rows:
            with self._write() as conn:
                mark_rows_sent(conn, rows, self._clock())

    def mark_acked(self, ids: Iterable[str]) -> int:
        """Mark pending or sent rows acked by envelope id; unknown ids are ignored."""
        with self._write() as conn:
            return state_changes.ack_rows(conn, ids, self._clock())

    def requeue_sent(self, older_than_s: float | None = None) -> int:
        """Put sent rows back to pending (end-to-end resend); optionally only long-unacked ones."""
        sent_before = None if older_than_s is None else self._clock() - older_than_s
        with self._write() as conn:
            return state_changes.requeue_sent_rows(conn, sent_before)

    def quarantine(self, rowid: int, reason: str) -> None:
        """Park a row the sender must not retry; ``reason`` must not contain payload data."""
        with self._write() as conn:
            state_changes.quarantine_row(conn, rowid, reason)
        log.warning("outbox row %d quarantined: %s", rowid, reason)

    def replay(self, *, ids: Sequence[str] | None = None, since: float | None = None) -> int:
        """Make delivered rows pending again for an operator re-send; no filter means all.

        Args:
            ids: Only these envelope ids.
            since: Only rows created at or after this timestamp.
        """
        with self._write() as conn:
            return state_changes.replay_rows(conn, ids, since)

    def prune(self) -> int:
        """Delete delivered rows older than the retention period; return how many.

        Message keys go too, beyond the most recent ones of each device (see
        :func:`edge_store.hot_path.prune_message_keys`).
        """
        with self._write() as conn:
            prune_message_keys(conn, self._clock())
        return self._delete_delivered(older_than=self._clock() - self._retention_s)

    def _delete_delivered(self, *, older_than: float | None) -> int:
        with self._write() as conn:
            return state_changes.delete_delivered_rows(conn, self._delivered, older_than)

    def last_sequences(self) -> dict[str, int]:
        """Highest sequence ever appended per device, including pruned rows."""
        with self._read() as conn:
            rows = conn.execute(select(device_sequence.c.device, device_sequence.c.last_seq))
            return {device: seq for device, seq in rows}

    def stats(self) -> OutboxStats:
        """Counts per state, the oldest pending row's age, and space use, from one snapshot."""
        with self._read() as conn:
            return read_stats(conn, self._clock(), self.quota_bytes)

    def close(self) -> None:
        """Close the connection; SQLite checkpoints the WAL into the main file."""
        self._engine.dispose()
        if self._owner_lock is not None:
            release_owner_lock(self._owner_lock)
            self._owner_lock = None

    def list(self, state: State | None = None, limit: int = 50) -> list[StoredEntry]:
        """Oldest rows first, optionally of one state, for operator inspection.

        Defined last: inside the class body the name shadows the builtin in later annotations.
        """
        query = select(*ENTRY_COLUMNS).order_by(outbox.c.rowid).limit(limit)
        if state is not None:
            query = query.where(outbox.c.state == state)
        with self._read() as conn:
            return [to_entry(row) for row in conn.execute(query)]
