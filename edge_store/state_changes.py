"""The rarely run row state changes: ack, requeue, replay, quarantine and deleting delivered rows.

Each runs inside the caller's write transaction. Unlike :mod:`edge_store.hot_path`, these keep
SQLAlchemy Core expressions: they run once per ack batch, retry period or operator action, not
once per event. Id lists go in chunks, under SQLite's limit on bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, delete, update

from edge_store.records import State
from edge_store.schema import chunks, delivered_at, outbox


def ack_rows(conn: Connection, ids: Iterable[str], now: float) -> int:
    """Mark pending or sent rows acked by envelope id; unknown ids are ignored."""
    stmt = (
        update(outbox)
        .where(outbox.c.state.in_((State.PENDING, State.SENT)))
        .values(state=State.ACKED, acked_at=now)
    )
    return sum(conn.execute(stmt.where(outbox.c.id.in_(c))).rowcount for c in chunks(ids))


def requeue_sent_rows(conn: Connection, sent_before: float | None) -> int:
    """Put sent rows back to pending; with ``sent_before``, only those sent at or before it."""
    stmt = update(outbox).where(outbox.c.state == State.SENT)
    if sent_before is not None:
        stmt = stmt.where(outbox.c.sent_at <= sent_before)
    return conn.execute(stmt.values(state=State.PENDING, sent_at=None)).rowcount


def quarantine_row(conn: Connection, rowid: int, reason: str) -> None:
    """Park a row the sender must not retry, with ``reason`` as its note."""
    conn.execute(
        update(outbox).where(outbox.c.rowid == rowid).values(state=State.QUARANTINED, note=reason)
    )


def replay_rows(conn: Connection, ids: Sequence[str] | None, since: float | None) -> int:
    """Make delivered rows pending again: only ``ids``, only created since ``since``, or all."""
    stmt = update(outbox).where(outbox.c.state.in_((State.SENT, State.ACKED)))
    if since is not None:
        stmt = stmt.where(outbox.c.created_at >= since)
    stmt = stmt.values(state=State.PENDING, sent_at=None, acked_at=None)
    if ids is None:
        return conn.execute(stmt).rowcount
    return sum(conn.execute(stmt.where(outbox.c.id.in_(c))).rowcount for c in chunks(ids))


def delete_delivered_rows(
    conn: Connection, delivered: Sequence[State], older_than: float | None
) -> int:
    """Delete rows in a ``delivered`` state, optionally only those delivered before a time."""
    stmt = delete(outbox).where(outbox.c.state.in_(delivered))
    if older_than is not None:
        stmt = stmt.where(delivered_at < older_than)
    return conn.execute(stmt).rowcount
