"""Quota and disk headroom: refuse cleanly, keep what is stored, free delivered rows first."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from edge_store import Outbox, State, StoreFullError
from tests.edge_store.factories import FakeClock, new_entry

QUOTA = 256 * 1024


def _fill(store: Outbox) -> int:
    """Append single rows until the store refuses; return how many were stored."""
    n = 0
    while True:
        try:
            store.append([new_entry(n)])
        except StoreFullError:
            return n
        n += 1


def test_filling_to_the_quota_refuses_with_a_clear_error(
    db_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = Outbox(db_path, quota_bytes=QUOTA, clock=clock, min_free_bytes=0)
    stored = _fill(store)
    assert stored > 100

    with (
        caplog.at_level(logging.WARNING, logger="edge_store"),
        pytest.raises(StoreFullError) as err,
    ):
        store.append([replace(new_entry(stored), payload=b"DOE^JANE " * 70)])
    assert err.value.quota_bytes == QUOTA
    assert err.value.used_bytes <= QUOTA
    assert "outbox full" in str(err.value)
    assert "quota" in err.value.reason
    assert "DOE^JANE" not in caplog.text
    assert "DOE^JANE" not in str(err.value)

    assert [e.id for e in store.list(limit=10_000)] == [new_entry(n).id for n in range(stored)]
    assert all(e.state is State.PENDING for e in store.list(limit=10_000))
    store.close()


def test_a_batch_that_does_not_fit_is_not_written_at_all(db_path: Path) -> None:
    store = Outbox(db_path, quota_bytes=QUOTA, min_free_bytes=0)
    store.append([new_entry(0)])
    with pytest.raises(StoreFullError):
        store.append([new_entry(n) for n in range(1, 1000)])
    assert [e.id for e in store.list()] == [new_entry(0).id]
    store.close()


def test_delivered_rows_are_pruned_under_pressure_regardless_of_retention(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Outbox(db_path, quota_bytes=QUOTA, retention_s=86400, min_free_bytes=0)
    stored = _fill(store)
    delivered = [e.rowid for e in store.claim(1, limit=stored // 2)]
    store.mark_sent(delivered)

    with caplog.at_level(logging.WARNING, logger="edge_store"):
        store.append([new_entry(stored)])
    assert f"pruned {len(delivered)} delivered rows" in caplog.text

    remaining = store.list(limit=10_000)
    assert all(e.state is State.PENDING for e in remaining)
    assert [e.id for e in remaining] == [new_entry(n).id for n in range(len(delivered), stored + 1)]
    store.close()


def test_appends_resume_once_rows_are_acked_end_to_end(db_path: Path) -> None:
    store = Outbox(db_path, quota_bytes=QUOTA, end_to_end=True, min_free_bytes=0)
    stored = _fill(store)
    store.mark_sent(e.rowid for e in store.claim(1, limit=stored))

    with pytest.raises(StoreFullError):  # sent is not delivered in end-to-end mode
        store.append([new_entry(stored)])

    store.mark_acked(new_entry(n).id for n in range(stored))
    assert store.append([new_entry(stored)])
    assert store.stats().acked == 0
    store.close()


def test_low_disk_space_refuses_appends(db_path: Path) -> None:
    store = Outbox(db_path, min_free_bytes=0)
    store.append([new_entry(0)])
    store.close()
    starved = Outbox(db_path, min_free_bytes=1 << 62)
    with pytest.raises(StoreFullError, match=r"filesystem has \d+ bytes free"):
        starved.append([new_entry(1)])
    assert [e.id for e in starved.list()] == [new_entry(0).id]
    starved.close()


def test_full_state_is_logged_once_until_it_clears(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Outbox(db_path, quota_bytes=QUOTA, min_free_bytes=0)
    stored = _fill(store)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edge_store"):
        for _ in range(5):
            with pytest.raises(StoreFullError):
                store.append([new_entry(stored)])
        refusals = [r for r in caplog.records if "refuses appends" in r.getMessage()]
        assert refusals == []  # already reported by _fill's final attempt
        store.mark_acked(new_entry(n).id for n in range(stored))
        store.append([new_entry(stored)])
    assert "accepts appends again" in caplog.text
    store.close()
