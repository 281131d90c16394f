"""The forwarder's reader of the outbox: every pending row once, in order, alarms first.

Rows reach the reader two ways: handed over by the store as each commit lands, and read back
from the store when the reader has fallen behind (a broker outage, a read in flight). Whatever
the interleaving, the rows taken must be exactly the rows committed.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_store import AsyncOutbox, Durability, NewEntry, Outbox, StoredEntry
from gateway.forwarding.lanes import LaneReader
from gateway.forwarding.topics import Lane

Step = tuple[str, int, int]  # (what, lane, count)

steps = st.lists(
    st.tuples(
        st.sampled_from(["append", "take", "append+take", "reconnect"]),
        st.sampled_from([int(Lane.ALARM), int(Lane.NORMAL)]),
        st.integers(min_value=1, max_value=7),
    ),
    max_size=30,
)


async def run(path: Path, script: list[Step]) -> tuple[list[StoredEntry], list[StoredEntry]]:
    outbox = AsyncOutbox(Outbox(path, durability=Durability.RELAXED, min_free_bytes=0))
    reader = LaneReader(outbox, prefetch=4)  # small: the buffer fills, the store is read
    committed: list[StoredEntry] = []
    taken: list[StoredEntry] = []
    serial = iter(range(10**6))

    async def append(lane: int, count: int) -> None:
        numbers = [next(serial) for _ in range(count)]
        entries = [NewEntry(f"id-{n:06d}", "dev", n + 1, lane, "t", b"x") for n in numbers]
        await outbox.append_many(entries)

    async def take(limit: int) -> None:
        rows = await reader.take(limit)
        taken.extend(rows)
        reader.release([row.rowid for row in rows])
        await outbox.mark_sent(row.rowid for row in rows)

    def remember(rows: list[StoredEntry]) -> None:
        committed.extend(rows)
        reader.offer(rows)

    outbox.on_stored = remember
    try:
        for what, lane, count in script:
            if what == "append":
                await append(lane, count)
            elif what == "take":
                await take(count)
            elif what == "append+take":
                await asyncio.gather(append(lane, count), take(count))
            else:
                reader.reset()
        while reader.may_have_rows:
            await take(5)
    finally:
        await outbox.close()
    return committed, taken


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_every_committed_row_is_taken_once_in_order(script: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        committed, taken = asyncio.run(run(Path(tmp) / "outbox.db", script))
    assert sorted(row.rowid for row in taken) == [row.rowid for row in committed]
    for lane in (Lane.ALARM, Lane.NORMAL):
        in_lane = [row.rowid for row in taken if row.lane == lane]
        assert in_lane == sorted(in_lane)


async def test_alarms_committed_while_normal_rows_wait_are_taken_first(tmp_path: Path) -> None:
    outbox = AsyncOutbox(Outbox(tmp_path / "o.db", durability=Durability.RELAXED, min_free_bytes=0))
    reader = LaneReader(outbox, prefetch=500)
    outbox.on_stored = reader.offer
    try:
        assert await reader.take(10) == []
        normal = [NewEntry(f"n{n}", "dev", n + 1, int(Lane.NORMAL), "t", b"x") for n in range(5)]
        await outbox.append_many(normal)
        await outbox.append_many([NewEntry("alarm", "dev", 6, int(Lane.ALARM), "t", b"!")])
        assert [row.id for row in await reader.take(3)] == ["alarm", "n0", "n1"]
    finally:
        await outbox.close()
