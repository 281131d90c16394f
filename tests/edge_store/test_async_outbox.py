"""AsyncOutbox: group commit, failure of whole batches, and the async wrappers."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from edge_store import (
    AsyncOutbox,
    DuplicateEntryError,
    Durability,
    Outbox,
    State,
    StoreError,
    StoreFullError,
)
from tests.edge_store.factories import FakeClock, new_entry


class Commits:
    """Records ``on_commit`` observations."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.seconds: list[float] = []

    def __call__(self, size: int, seconds: float) -> None:
        self.sizes.append(size)
        self.seconds.append(seconds)


async def test_concurrent_appends_share_commits(db_path: Path) -> None:
    commits = Commits()
    store = await AsyncOutbox.open(db_path, on_commit=commits, min_free_bytes=0)

    rowids = await asyncio.gather(*(store.append(new_entry(n)) for n in range(1000)))

    assert sum(commits.sizes) == 1000
    assert len(commits.sizes) <= 10
    assert all(s >= 0 for s in commits.seconds)
    assert len(set(rowids)) == 1000
    stored = await store.list(limit=2000)
    assert {e.rowid: e.id for e in stored} == {r: new_entry(n).id for n, r in enumerate(rowids)}
    await store.close()


async def test_an_idle_append_commits_alone(db_path: Path) -> None:
    commits = Commits()
    async with await AsyncOutbox.open(db_path, on_commit=commits, min_free_bytes=0) as store:
        assert await store.append(new_entry(0)) == 1
        assert await store.append(new_entry(1)) == 2
    assert commits.sizes == [1, 1]


async def test_batches_respect_max_batch_without_splitting_a_call(db_path: Path) -> None:
    commits = Commits()
    store = AsyncOutbox(Outbox(db_path, min_free_bytes=0), max_batch=100, on_commit=commits)
    big = asyncio.ensure_future(store.append_many([new_entry(n) for n in range(150)]))
    small = await asyncio.gather(*(store.append(new_entry(n)) for n in range(150, 400)))
    assert len(await big) == 150
    assert len(small) == 250
    assert commits.sizes[0] == 150
    assert all(size <= 100 for size in commits.sizes[1:])
    assert sum(commits.sizes) == 400
    await store.close()


async def test_store_work_runs_on_one_worker_thread(db_path: Path) -> None:
    store_threads: set[int] = set()
    observer_threads: set[int] = set()

    def clock() -> float:  # the Outbox reads its clock inside every write
        store_threads.add(threading.get_ident())
        return 1_700_000_000.0

    store = await AsyncOutbox.open(
        db_path,
        clock=clock,
        on_commit=lambda size, seconds: observer_threads.add(threading.get_ident()),
        min_free_bytes=0,
    )
    rowids = await asyncio.gather(*(store.append(new_entry(n)) for n in range(10)))
    await store.mark_sent(rowids)
    await store.mark_acked([new_entry(0).id])
    await store.close()

    assert len(store_threads) == 1
    assert threading.get_ident() not in store_threads
    assert observer_threads == {threading.get_ident()}  # called back on the event loop


async def test_a_full_batch_fails_all_its_callers_and_keeps_the_store(
    db_path: Path,
) -> None:
    store = await AsyncOutbox.open(db_path, quota_bytes=128 * 1024, min_free_bytes=0)
    kept = await store.append_many([new_entry(n) for n in range(10)])

    results = await asyncio.gather(
        *(store.append(new_entry(n)) for n in range(10, 1010)), return_exceptions=True
    )
    assert all(isinstance(r, StoreFullError) for r in results)
    assert [e.rowid for e in await store.list(limit=2000)] == kept

    assert await store.append(new_entry(2000)) == kept[-1] + 1  # small appends still fit
    await store.close()


async def test_a_duplicate_fails_only_its_caller(db_path: Path) -> None:
    store = await AsyncOutbox.open(db_path, min_free_bytes=0)
    await store.append(new_entry(5))
    results = await asyncio.gather(
        *(store.append(new_entry(n)) for n in range(10)), return_exceptions=True
    )
    assert isinstance(results[5], DuplicateEntryError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 5)
    assert len(await store.list(limit=100)) == 10
    await store.close()


async def test_a_cancelled_caller_is_skipped_while_still_queued(db_path: Path) -> None:
    store = await AsyncOutbox.open(db_path, min_free_bytes=0)
    first = asyncio.ensure_future(store.append(new_entry(0)))
    second = asyncio.ensure_future(store.append(new_entry(1)))
    await asyncio.sleep(0)  # both queued, nothing committed yet
    second.cancel()
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await second
    assert [e.id for e in await store.list()] == [new_entry(0).id]
    await store.close()


async def test_close_flushes_queued_appends(db_path: Path) -> None:
    store = await AsyncOutbox.open(db_path, min_free_bytes=0)
    pending = [asyncio.ensure_future(store.append(new_entry(n))) for n in range(50)]
    await asyncio.sleep(0)
    await store.close()
    assert all(p.done() and not p.exception() for p in pending)
    with pytest.raises(StoreError, match="closed"):
        await store.append(new_entry(99))

    reopened = Outbox(db_path, min_free_bytes=0)
    assert len(reopened.list(limit=100)) == 50
    reopened.close()


async def test_observer_failure_does_not_break_appends(db_path: Path) -> None:
    def broken(size: int, seconds: float) -> None:
        raise RuntimeError("metrics backend down")

    store = await AsyncOutbox.open(db_path, on_commit=broken, min_free_bytes=0)
    assert await store.append(new_entry(0)) == 1
    assert await store.append(new_entry(1)) == 2
    await store.close()


async def test_async_wrappers_drive_the_full_lifecycle(db_path: Path) -> None:
    clock = FakeClock()
    store = await AsyncOutbox.open(
        db_path,
        durability=Durability.RELAXED,
        end_to_end=True,
        retention_s=10,
        clock=clock,
        min_free_bytes=0,
    )
    rowids = await store.append_many([new_entry(n, lane=0) for n in range(4)])
    claimed = await store.claim(0, limit=3)
    await store.mark_sent(e.rowid for e in claimed)
    assert await store.requeue_sent() == 3
    await store.mark_sent(rowids[:3])
    assert await store.mark_acked([new_entry(0).id, new_entry(1).id]) == 2
    await store.quarantine(rowids[3], "unroutable")
    assert await store.replay(ids=[new_entry(1).id]) == 1
    clock.now += 11
    assert await store.prune() == 1
    stats = await store.stats()
    assert (stats.pending, stats.sent, stats.acked, stats.quarantined) == ({0: 1}, 1, 0, 1)
    assert [e.state for e in await store.list(State.SENT)] == [State.SENT]
    assert await store.last_sequences() == {"bed-01": 3}
    assert await store.append_many([]) == []
    await store.close()


async def test_payload_bytes_round_trip(db_path: Path) -> None:
    async with await AsyncOutbox.open(db_path, min_free_bytes=0) as store:
        entry = replace(new_entry(0), payload=bytes(range(256)))
        await store.append(entry)
        (got,) = await store.claim(1)
        assert got.payload == entry.payload
