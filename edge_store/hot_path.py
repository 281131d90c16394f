"""The statements run for every event (insert, message key, claim, mark sent), as plain SQL.

A ward sends one small commit at a time, so per-statement overhead is what the gateway's CPU goes
to: building and compiling a SQLAlchemy Core statement costs several times SQLite's own work on
one row, and even ``exec_driver_sql`` costs ~30 µs a statement against the driver's ~2 µs.
These statements are constant strings run on the transaction's own ``sqlite3`` connection
(inside the SQLAlchemy transaction that began it), with the pruning of message keys next to
where keys are written; the rest of the store (rarely run: pruning rows, replay, listings) keeps
the Core expressions. A driver error surfaces as ``sqlite3``'s own exception.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Connection

from edge_store.records import MessageKey, NewEntry, State, StoredEntry

_INSERT = (
    "INSERT INTO outbox (id, device, seq, lane, topic, payload, digest, state, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RAISE_LAST_SEQ = (
    "INSERT INTO device_sequence (device, last_seq) VALUES (?, ?)"
    " ON CONFLICT (device) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)"
)
_CLAIM = (
    "SELECT rowid, id, device, seq, lane, topic, payload, digest, state, created_at, attempts,"
    " note FROM outbox WHERE state = ? AND lane = ? AND rowid > ? ORDER BY rowid LIMIT ?"
)
_NOTE_MESSAGE = (
    "INSERT OR IGNORE INTO device_message (device, message_key, stored_at) VALUES (?, ?, ?)"
)
_MARK_SENT = (
    "UPDATE outbox SET state = ?, sent_at = ?, attempts = attempts + 1"
    " WHERE rowid = ? AND state = ?"
)


def driver(conn: Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under ``conn``, inside the transaction ``conn`` began."""
    return cast("sqlite3.Connection", conn.connection.driver_connection)


MessageBatch = tuple[MessageKey | None, Sequence[NewEntry]]
"""The entries of one device message, under its key (``None``: stored whatever came before)."""


def insert_messages(
    conn: Connection, batches: Sequence[MessageBatch], now: float
) -> list[list[StoredEntry] | None]:
    """Insert each batch whose message is new; its rows, or ``None`` for one already stored."""
    fresh = note_messages(conn, [key for key, _ in batches], now)
    pairs = list(zip(batches, fresh, strict=True))
    kept = [entry for (_, entries), new in pairs if new for entry in entries]
    rows = iter(insert_rows(conn, kept, now) if kept else [])
    return [[next(rows) for _ in entries] if new else None for (_, entries), new in pairs]


def insert_rows(conn: Connection, entries: Sequence[NewEntry], now: float) -> list[StoredEntry]:
    """Insert pending rows and raise each device's last sequence; the rows in entry order.

    Under BEGIN IMMEDIATE nobody else inserts, and AUTOINCREMENT hands out max+1, so the batch
    occupies consecutive rowids ending at the last one (RETURNING would make the driver insert
    row by row).
    """
    pending = int(State.PENDING)
    digests = [hashlib.sha256(e.payload).digest() for e in entries]
    raw = driver(conn)
    raw.executemany(
        _INSERT,
        [
            (e.id, e.device, e.seq, e.lane, e.topic, e.payload, digest, pending, now)
            for e, digest in zip(entries, digests, strict=True)
        ],
    )
    (last,) = raw.execute("SELECT last_insert_rowid()").fetchone()
    latest: dict[str, int] = {}
    for e in entries:
        latest[e.device] = max(e.seq, latest.get(e.device, e.seq))
    raw.executemany(_RAISE_LAST_SEQ, list(latest.items()))
    first = last - len(entries) + 1
    return [
        StoredEntry(
            first + n,
            e.id,
            e.device,
            e.seq,
            e.lane,
            e.topic,
            e.payload,
            digest,
            State.PENDING,
            now,
            0,
        )
        for n, (e, digest) in enumerate(zip(entries, digests, strict=True))
    ]


def pending_rows(conn: Connection, lane: int, after_rowid: int, limit: int) -> list[StoredEntry]:
    """Pending rows of ``lane`` after ``after_rowid``, in rowid (arrival) order."""
    result = driver(conn).execute(_CLAIM, (int(State.PENDING), lane, after_rowid, limit))
    return [
        StoredEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], State(r[8]), *r[9:])
        for r in result
    ]


def mark_rows_sent(conn: Connection, rowids: Sequence[int], now: float) -> None:
    """Move the still-pending ones of ``rowids`` to sent, counting the attempt."""
    sent, pending = int(State.SENT), int(State.PENDING)
    driver(conn).executemany(_MARK_SENT, [(sent, now, rowid, pending) for rowid in rowids])


def note_messages(conn: Connection, keys: Sequence[MessageKey | None], now: float) -> list[bool]:
    """Note each message key; False for one already stored (earlier, or earlier in ``keys``)."""
    raw = driver(conn)
    return [
        key is None or raw.execute(_NOTE_MESSAGE, (key.device, key.key, now)).rowcount == 1
        for key in keys
    ]


MESSAGE_KEYS_KEPT = 2048
"""Message keys kept per device: an analyzer resends its last message, not one from hours ago."""
MESSAGE_KEYS_KEPT_S = 86400.0
"""And none older than this, however few messages the device sent."""

_PRUNE_MESSAGE_KEYS = (
    "DELETE FROM device_message WHERE stored_at < ? OR rowid IN (SELECT rowid FROM"
    " (SELECT rowid, row_number() OVER"
    " (PARTITION BY device ORDER BY stored_at DESC, rowid DESC) AS age"
    " FROM device_message) WHERE age > ?)"
)


def prune_message_keys(conn: Connection, now: float) -> None:
    """Forget message keys beyond each device's most recent ones, or older than a day."""
    driver(conn).execute(_PRUNE_MESSAGE_KEYS, (now - MESSAGE_KEYS_KEPT_S, MESSAGE_KEYS_KEPT))
