"""The outbox's gauges (rows per state and lane, oldest pending age, space) in one read."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from edge_store.durability import used_bytes
from edge_store.records import OutboxStats, State
from edge_store.schema import outbox


def read_stats(conn: Connection, now: float, quota_bytes: int | None) -> OutboxStats:
    """Gauges from one snapshot, for metrics and health checks (every few seconds).

    Counting reads only the (state, lane, rowid) index, and a lane's oldest pending row is its
    first by rowid: a scan of the rows themselves cost ~70 ms at 50,000 rows, every few
    seconds, and held up appends queued behind it.
    """
    counts = conn.execute(
        select(outbox.c.state, outbox.c.lane, func.count()).group_by(outbox.c.state, outbox.c.lane)
    ).all()
    per_state = dict.fromkeys(State, 0)
    pending: dict[int, int] = {}
    for state, lane, count in counts:
        per_state[State(state)] += count
        if state == State.PENDING:
            pending[lane] = count
    firsts = [
        conn.execute(
            select(outbox.c.created_at)
            .where(outbox.c.state == State.PENDING, outbox.c.lane == lane)
            .order_by(outbox.c.rowid)
            .limit(1)
        ).scalar_one()
        for lane in pending
    ]
    oldest = min(firsts, default=None)
    return OutboxStats(
        pending=pending,
        sent=per_state[State.SENT],
        acked=per_state[State.ACKED],
        quarantined=per_state[State.QUARANTINED],
        oldest_pending_age_s=None if oldest is None else max(0.0, now - oldest),
        used_bytes=used_bytes(conn),
        quota_bytes=quota_bytes,
    )
