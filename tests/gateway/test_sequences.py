"""A consumer's gap count: numbers not received yet, whatever order the others arrive in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.central.sequences import SequenceTracker


def test_an_alarm_overtaking_its_backlog_leaves_no_gap_once_the_backlog_arrives() -> None:
    tracker = SequenceTracker()
    for seq in range(1, 1001):
        tracker.see("gw/mon", seq)
    tracker.see("gw/mon", 50_001)  # the alarm, on its own lane
    assert tracker.gaps() == {"gw/mon": 49_000}
    for seq in range(1001, 50_001):
        tracker.see("gw/mon", seq)
    assert tracker.gaps() == {}
    assert tracker.late == {"gw/mon": 49_000}


def test_a_number_that_never_arrives_stays_a_gap_per_device() -> None:
    tracker = SequenceTracker()
    for key, seqs in {"gw/a": [1, 2, 4, 5], "gw/b": [7, 9, 8, 12]}.items():
        for seq in seqs:
            tracker.see(key, seq)
    assert tracker.gaps() == {"gw/a": 1, "gw/b": 2}
    assert tracker.late == {"gw/b": 1}


@given(
    st.permutations(list(range(1, 40))),
    st.sets(st.integers(min_value=2, max_value=38), max_size=10),
    st.lists(st.integers(min_value=1, max_value=39), max_size=10),
)
def test_gaps_are_exactly_the_numbers_missing_between_first_and_highest(
    order: list[int], dropped: set[int], repeated: list[int]
) -> None:
    tracker = SequenceTracker()
    arrived = [seq for seq in order if seq not in dropped] + repeated
    for seq in arrived:
        tracker.see("gw/dev", seq)
    first, highest = arrived[0], max(arrived)
    expected = len(set(range(first, highest + 1)) - set(arrived))
    assert tracker.gaps().get("gw/dev", 0) == expected
