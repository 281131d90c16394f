"""Builders shared by the edge_store tests."""

from __future__ import annotations

from dataclasses import dataclass

from edge_store import NewEntry


@dataclass
class FakeClock:
    """A settable clock so retention and ages never depend on wall time."""

    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def new_entry(n: int, *, lane: int = 1, device: str = "bed-01", size: int = 600) -> NewEntry:
    payload = (f"{n:08d}".encode() * (size // 8 + 1))[:size]
    return NewEntry(
        id=f"01J{n:023d}",
        device=device,
        seq=n,
        lane=lane,
        topic=f"ward/3/{device}",
        payload=payload,
    )
