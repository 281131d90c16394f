"""Lifecycle of rows in the sync Outbox: order, states, acks, replay, pruning, sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_store import DuplicateEntryError, Durability, Outbox, State
from tests.edge_store.factories import FakeClock, new_entry


def test_claim_returns_pending_rows_of_one_lane_in_append_order(store: Outbox) -> None:
    entries = [new_entry(n, lane=n % 2) for n in range(10)]
    rowids = store.append(entries)

    assert rowids == sorted(rowids)
    alarms = store.claim(0)
    assert [e.id for e in alarms] == [e.id for e in entries if e.lane == 0]
    assert [e.payload for e in store.claim(1)] == [e.payload for e in entries if e.lane == 1]
    assert [e.rowid for e in store.claim(0, after_rowid=alarms[1].rowid, limit=2)] == [
        alarms[2].rowid,
        alarms[3].rowid,
    ]


def test_append_returns_rowids_matching_entries(store: Outbox) -> None:
    store.append([new_entry(0)])
    rowids = store.append([new_entry(n) for n in range(1, 6)])
    by_rowid = {e.rowid: e.id for e in store.list()}
    assert [by_rowid[r] for r in rowids] == [new_entry(n).id for n in range(1, 6)]


def test_append_is_one_transaction_with_one_commit(store: Outbox) -> None:
    statements: list[str] = []
    driver = store.engine.raw_connection().driver_connection
    assert driver is not None
    driver.set_trace_callback(statements.append)
    try:
        store.append([new_entry(n) for n in range(100)])
    finally:
        driver.set_trace_callback(None)
    transaction_control = [s for s in statements if s.split()[0] in {"BEGIN", "COMMIT"}]
    assert transaction_control == ["BEGIN IMMEDIATE", "COMMIT"]


def test_states_move_pending_sent_acked(store: Outbox, clock: FakeClock) -> None:
    rowids = store.append([new_entry(n) for n in range(3)])
    clock.now += 5
    store.mark_sent(rowids[:2])

    assert [e.id for e in store.claim(1)] == [new_entry(2).id]
    sent = store.list(State.SENT)
    assert [e.attempts for e in sent] == [1, 1]

    assert store.mark_acked([new_entry(0).id, "01JUNKNOWN"]) == 1
    assert store.mark_acked([new_entry(0).id]) == 0  # already acked
    assert store.mark_acked([new_entry(2).id]) == 1  # straight from pending
    stats = store.stats()
    assert (stats.pending, stats.sent, stats.acked) == ({}, 1, 2)


def test_mark_sent_ignores_rows_that_are_not_pending(store: Outbox) -> None:
    (rowid,) = store.append([new_entry(0)])
    store.mark_acked([new_entry(0).id])
    store.mark_sent([rowid])
    assert store.list()[0].state is State.ACKED


def test_requeue_sent_all_or_only_old_ones(store: Outbox, clock: FakeClock) -> None:
    rowids = store.append([new_entry(n) for n in range(3)])
    store.mark_sent(rowids[:2])
    clock.now += 60
    store.mark_sent(rowids[2:])
    clock.now += 10

    assert store.requeue_sent(older_than_s=30) == 2
    assert [e.rowid for e in store.claim(1)] == rowids[:2]
    assert store.requeue_sent() == 1
    store.mark_sent(rowids)
    assert [e.attempts for e in store.list()] == [2, 2, 2]


def test_replay_resends_delivered_rows_by_id_or_age(store: Outbox, clock: FakeClock) -> None:
    old = store.append([new_entry(0), new_entry(1)])
    clock.now += 100
    new = store.append([new_entry(2)])
    store.mark_sent(old + new)
    store.mark_acked([new_entry(0).id])

    assert store.replay(ids=[new_entry(0).id]) == 1
    assert store.replay(since=clock.now) == 1
    assert [e.rowid for e in store.claim(1)] == [old[0], new[0]]
    assert store.replay() == 1
    assert store.stats().pending == {1: 3}


def test_quarantine_parks_a_row_with_its_reason(store: Outbox) -> None:
    rowid, _ = store.append([new_entry(0), new_entry(1)])
    store.quarantine(rowid, "rejected by EMR schema")
    (parked,) = store.list(State.QUARANTINED)
    assert (parked.rowid, parked.note) == (rowid, "rejected by EMR schema")
    assert [e.id for e in store.claim(1)] == [new_entry(1).id]
    assert store.stats().quarantined == 1


def test_claim_quarantines_rows_whose_payload_was_corrupted(store: Outbox) -> None:
    rowid, _ = store.append([new_entry(0), new_entry(1)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET payload = x'00ff' WHERE rowid = ?", (rowid,))

    assert [e.id for e in store.claim(1)] == [new_entry(1).id]
    (parked,) = store.list(State.QUARANTINED)
    assert parked.rowid == rowid
    assert parked.note is not None
    assert "digest" in parked.note


def test_duplicate_ids_are_rejected_without_writing(store: Outbox) -> None:
    store.append([new_entry(0)])
    with pytest.raises(DuplicateEntryError) as err:
        store.append([new_entry(1), new_entry(0)])
    assert err.value.ids == (new_entry(0).id,)
    with pytest.raises(DuplicateEntryError):
        store.append([new_entry(2), new_entry(2)])
    assert [e.id for e in store.list()] == [new_entry(0).id]


def test_prune_respects_retention(db_path: Path, clock: FakeClock) -> None:
    store = Outbox(db_path, retention_s=3600, clock=clock, min_free_bytes=0)
    rowids = store.append([new_entry(n) for n in range(4)])
    store.mark_sent(rowids[:2])
    clock.now += 1800
    store.mark_sent(rowids[2:3])
    clock.now += 1801

    assert store.prune() == 2
    assert [e.rowid for e in store.list()] == rowids[2:]
    clock.now += 1800
    assert store.prune() == 1
    assert [e.state for e in store.list()] == [State.PENDING]
    store.close()


def test_end_to_end_mode_keeps_sent_rows_until_acked(db_path: Path, clock: FakeClock) -> None:
    store = Outbox(db_path, retention_s=10, end_to_end=True, clock=clock, min_free_bytes=0)
    rowids = store.append([new_entry(0), new_entry(1)])
    store.mark_sent(rowids)
    store.mark_acked([new_entry(1).id])
    clock.now += 60

    assert store.prune() == 1
    assert [e.state for e in store.list()] == [State.SENT]
    store.close()


def test_last_sequence_survives_pruning_and_reopening(db_path: Path, clock: FakeClock) -> None:
    store = Outbox(db_path, retention_s=0, clock=clock, min_free_bytes=0)
    rowids = store.append([new_entry(7, device="pump-2"), new_entry(3, device="pump-2")])
    rowids += store.append([new_entry(1, device="bed-01")])
    store.mark_sent(rowids)
    clock.now += 1
    assert store.prune() == 3
    store.close()

    reopened = Outbox(db_path, clock=clock, min_free_bytes=0)
    assert reopened.list() == []
    assert reopened.last_sequences() == {"pump-2": 7, "bed-01": 1}
    reopened.close()


def test_restart_keeps_every_row_and_state(db_path: Path, clock: FakeClock) -> None:
    store = Outbox(db_path, durability=Durability.DURABLE, clock=clock, min_free_bytes=0)
    rowids = store.append([new_entry(n, lane=n % 2) for n in range(6)])
    store.mark_sent(rowids[:3])
    store.mark_acked([new_entry(0).id])
    store.quarantine(rowids[5], "bad")
    before = store.list()
    store.close()

    reopened = Outbox(db_path, durability=Durability.DURABLE, clock=clock, min_free_bytes=0)
    assert reopened.list() == before
    A, S, P, Q = State.ACKED, State.SENT, State.PENDING, State.QUARANTINED
    assert [e.state for e in before] == [A, S, S, P, P, Q]
    assert reopened.append([new_entry(99)]) == [rowids[-1] + 1]
    reopened.close()


def test_stats_report_pending_per_lane_and_oldest_age(store: Outbox, clock: FakeClock) -> None:
    assert store.stats().oldest_pending_age_s is None
    store.append([new_entry(0, lane=1)])
    clock.now += 30
    store.append([new_entry(1, lane=0), new_entry(2, lane=0)])
    clock.now += 12

    stats = store.stats()
    assert stats.pending == {0: 2, 1: 1}
    assert stats.oldest_pending_age_s == pytest.approx(42)
    assert stats.used_bytes > 0
    assert stats.quota_bytes is None
