"""Issue 11, defect 3: a flood of alike log lines is cut to a few, with a count of the rest."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.log_limits import RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logged(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RepeatLimiter(burst=3, interval_s=60.0, clock=clock))
    logger = logging.getLogger("test.log_limits")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_a_flood_of_alike_lines_is_cut_and_summarised(
    clock: Clock, logged: tuple[logging.Logger, io.StringIO]
) -> None:
    logger, out = logged
    for n in range(10_000):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("device %s: accept failed (%d)", "analyzer-1", n)
    logger.warning("device %s: another kind of line", "analyzer-1")
    clock.now = 61.0
    logger.exception("device %s: accept failed (%d)", "analyzer-1", 10_000)
    lines = [line for line in out.getvalue().splitlines() if line.startswith(("ERROR", "WARN"))]
    assert lines == [
        "ERROR device analyzer-1: accept failed (0)",
        "ERROR device analyzer-1: accept failed (1)",
        "ERROR device analyzer-1: accept failed (2)",
        "WARNING device analyzer-1: another kind of line",
        "ERROR device analyzer-1: accept failed (10000) [9997 more like this suppressed]",
    ]
    assert len(out.getvalue()) < 5_000  # three tracebacks, not ten thousand


@given(st.lists(st.sampled_from(["a %s", "b %s", "c %s"]), max_size=200))
def test_each_kind_passes_at_most_burst_lines_per_interval(formats: list[str]) -> None:
    limiter = RepeatLimiter(burst=2, interval_s=60.0, clock=lambda: 0.0)
    passed: dict[str, int] = {}
    for fmt in formats:
        record = logging.LogRecord("x", logging.WARNING, __file__, 1, fmt, ("v",), None)
        if limiter.filter(record):
            passed[fmt] = passed.get(fmt, 0) + 1
    assert all(count <= 2 for count in passed.values())
    assert set(passed) == set(formats)
