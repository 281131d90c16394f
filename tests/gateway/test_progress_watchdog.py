"""The forwarder progress watchdog: a stall is no progress, never a backlog that drains slowly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.forwarding.progress_watchdog import ProgressWatchdog

STALL_S = 120.0


@given(
    st.lists(st.floats(min_value=0.01, max_value=STALL_S * 0.99), min_size=1, max_size=200),
    st.lists(st.integers(min_value=1, max_value=1_000_000), min_size=1, max_size=200),
)
def test_a_slow_catch_up_with_any_backlog_never_stalls(
    gaps: list[float], backlog: list[int]
) -> None:
    watchdog = ProgressWatchdog(STALL_S)
    now = progressed_at = 1000.0
    for gap, pending in zip(gaps, backlog * len(gaps), strict=False):
        now += gap  # checked just before the next PUBACK arrives
        watchdog.observe(pending=pending, connected=True, progressed_at=progressed_at, now=now)
        assert not watchdog.stalled
        progressed_at = now


def test_rows_pending_on_a_connected_broker_without_progress_stall() -> None:
    watchdog = ProgressWatchdog(STALL_S)
    watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=1000.0)
    assert not watchdog.stalled  # the clock starts when rows are first seen pending
    assert watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=1119.0) == 119.0
    assert not watchdog.stalled
    watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=1120.0)
    assert watchdog.stalled
    watchdog.observe(pending=5, connected=True, progressed_at=1121.0, now=1121.0)
    assert not watchdog.stalled  # one PUBACK is progress


@given(st.floats(min_value=0, max_value=1e6), st.booleans())
def test_no_rows_or_no_broker_is_never_a_stall(idle_s: float, connected: bool) -> None:
    watchdog = ProgressWatchdog(STALL_S)
    pending = 0 if connected else 10
    watchdog.observe(pending=pending, connected=connected, progressed_at=0.0, now=0.0)
    assert (
        watchdog.observe(pending=pending, connected=connected, progressed_at=0.0, now=idle_s) == 0
    )
    assert not watchdog.stalled


def test_the_clock_restarts_after_the_backlog_empties_or_the_link_drops() -> None:
    watchdog = ProgressWatchdog(STALL_S)
    watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=0.0)
    watchdog.observe(pending=5, connected=False, progressed_at=0.0, now=100.0)
    watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=200.0)
    assert watchdog.observe(pending=5, connected=True, progressed_at=0.0, now=300.0) == 100.0
    assert not watchdog.stalled
