from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_store import Durability, Outbox
from tests.edge_store.factories import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Outbox]:
    outbox = Outbox(db_path, durability=Durability.RELAXED, clock=clock, min_free_bytes=0)
    yield outbox
    outbox.close()
