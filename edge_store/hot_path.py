"""The statements run for every event (insert, claim, mark sent), as driver-level SQL.

A ward sends one small commit at a time, so per-statement overhead is what the gateway's CPU goes
to: building and compiling a SQLAlchemy Core statement costs several times SQLite's own work on
one row. These statements are constant strings run with ``exec_driver_sql`` on plain tuples;
the rest of the store (rarely run: pruning, replay, listings) keeps the Core expressions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import Connection

from edge_store.records import NewEntry, State, StoredEntry

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
_MARK_SENT = (
    "UPDATE outbox SET state = ?, sent_at = ?, attempts = attempts + 1"
    " WHERE rowid = ? AND state = ?"
)


def insert_rows(conn: Connection, entries: Sequence[NewEntry], now: float) -> list[int]:
    """Insert pending rows and raise each device's last sequence; rowids in entry order.

    Under BEGIN IMMEDIATE nobody else inserts, and AUTOINCREMENT hands out max+1, so the batch
    occupies consecutive rowids ending at the last one (RETURNING would make the driver insert
    row by row).
    """
    pending = int(State.PENDING)
    rows = [
        (
            e.id,
            e.device,
            e.seq,
            e.lane,
            e.topic,
            e.payload,
            hashlib.sha256(e.payload).digest(),
            pending,
            now,
        )
        for e in entries
    ]
    conn.exec_driver_sql(_INSERT, rows)
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    latest: dict[str, int] = {}
    for e in entries:
        latest[e.device] = max(e.seq, latest.get(e.device, e.seq))
    conn.exec_driver_sql(_RAISE_LAST_SEQ, list(latest.items()))
    return list(range(last - len(rows) + 1, last + 1))


def pending_rows(conn: Connection, lane: int, after_rowid: int, limit: int) -> list[StoredEntry]:
    """Pending rows of ``lane`` after ``after_rowid``, in rowid (arrival) order."""
    result = conn.exec_driver_sql(_CLAIM, (int(State.PENDING), lane, after_rowid, limit))
    return [
        StoredEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], State(r[8]), *r[9:])
        for r in result
    ]


def mark_rows_sent(conn: Connection, rowids: Sequence[int], now: float) -> None:
    """Move the still-pending ones of ``rowids`` to sent, counting the attempt."""
    sent, pending = int(State.SENT), int(State.PENDING)
    conn.exec_driver_sql(_MARK_SENT, [(sent, now, rowid, pending) for rowid in rowids])
