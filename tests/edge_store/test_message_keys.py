"""A device message sent again after its answer was lost is stored once, across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge_store import Durability, MessageKey, Outbox, State
from edge_store.hot_path import MESSAGE_KEYS_KEPT, MESSAGE_KEYS_KEPT_S
from tests.edge_store.factories import FakeClock, new_entry

KEY = MessageKey("analyzer-1", "sha256-of-the-records")


def pending_ids(store: Outbox) -> list[str]:
    return [row.id for row in store.list(State.PENDING, limit=100)]


def test_a_message_stored_once_even_when_sent_again_in_the_same_commit(store: Outbox) -> None:
    stored = store.append_messages(
        [(KEY, [new_entry(1), new_entry(2)]), (None, [new_entry(3)]), (KEY, [new_entry(4)])]
    )
    assert [None if rowids is None else len(rowids) for rowids in stored] == [2, 1, None]
    assert sorted(pending_ids(store)) == [new_entry(n).id for n in (1, 2, 3)]


def test_the_key_survives_a_restart_of_the_gateway(db_path: Path, clock: FakeClock) -> None:
    first = Outbox(db_path, durability=Durability.DURABLE, clock=clock, min_free_bytes=0)
    assert first.append_messages([(KEY, [new_entry(1)])]) != [None]
    first.close()
    again = Outbox(db_path, durability=Durability.DURABLE, clock=clock, min_free_bytes=0)
    try:
        assert again.append_messages([(KEY, [new_entry(2)])]) == [None]
        other = MessageKey("analyzer-2", KEY.key)  # the same bytes from another device: new
        assert again.append_messages([(other, [new_entry(3)])]) != [None]
        assert sorted(pending_ids(again)) == [new_entry(1).id, new_entry(3).id]
    finally:
        again.close()


def test_a_store_written_before_message_keys_gets_the_table_on_open(db_path: Path) -> None:
    Outbox(db_path, min_free_bytes=0).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE device_message")
    store = Outbox(db_path, min_free_bytes=0)
    try:
        assert store.append_messages([(KEY, [new_entry(1)])]) != [None]
        assert store.append_messages([(KEY, [new_entry(2)])]) == [None]
    finally:
        store.close()


def test_pruning_keeps_each_devices_recent_keys_for_a_day(store: Outbox, clock: FakeClock) -> None:
    for n in range(MESSAGE_KEYS_KEPT + 5):
        key = MessageKey("monitor", f"m{n}")
        store.append_messages([(key, [new_entry(n, device="monitor", size=8)])])
    store.append_messages([(MessageKey("analyzer", "a0"), [new_entry(10**6, size=8)])])
    store.prune()
    assert store.append_messages([(MessageKey("monitor", "m0"), [])]) == [[]]  # forgotten
    newest = MessageKey("monitor", f"m{MESSAGE_KEYS_KEPT + 4}")
    assert store.append_messages([(newest, [])]) == [None]  # still known
    assert store.append_messages([(MessageKey("analyzer", "a0"), [])]) == [None]
    clock.now += MESSAGE_KEYS_KEPT_S + 1
    store.prune()
    assert store.append_messages([(MessageKey("analyzer", "a0"), [])]) == [[]]
