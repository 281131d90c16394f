from __future__ import annotations

import random

import pytest

from drivers.backoff import Backoff


def test_delays_stay_between_minimum_and_a_growing_capped_ceiling() -> None:
    backoff = Backoff(minimum=0.5, maximum=8.0, rng=random.Random(42))
    for attempt in range(200):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert 0.5 <= backoff.next_delay() <= ceiling
    assert backoff.attempts == 200


def test_same_seed_gives_same_delays() -> None:
    first = Backoff(rng=random.Random(7))
    second = Backoff(rng=random.Random(7))
    assert [first.next_delay() for _ in range(10)] == [second.next_delay() for _ in range(10)]


def test_reset_starts_again_from_the_minimum() -> None:
    backoff = Backoff(minimum=1.0, maximum=60.0, rng=random.Random(1))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1.0


def test_a_device_away_for_days_does_not_overflow() -> None:
    backoff = Backoff(minimum=0.5, maximum=30.0, factor=10.0, rng=random.Random(1))
    for _ in range(5000):
        assert backoff.next_delay() <= 30.0


@pytest.mark.parametrize(("minimum", "maximum", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_nonsense_settings_are_refused(minimum: float, maximum: float, factor: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(minimum, maximum, factor)
