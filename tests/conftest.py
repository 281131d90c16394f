"""Shared fixtures: a real Mosquitto on a free port, per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.e2e.harness import close_leftover_consumers
from tests.hardware_sim.broker import Mosquitto

# Examples are judged by what they produce, never by how long one took: on a loaded 2-core CI
# machine hypothesis's default 200 ms deadline failed tests that were right.
settings.register_profile("wardlink", deadline=None)
settings.load_profile("wardlink")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own WARDLINK_* variables must not leak into any test's settings."""
    for name in list(os.environ):
        if name.upper().startswith("WARDLINK_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_leftover_consumers() -> Iterator[None]:
    yield
    close_leftover_consumers()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
