"""Plain value types exchanged with the outbox; no behaviour, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class State(IntEnum):
    """Lifecycle of a row; stored as an integer."""

    PENDING = 0
    SENT = 1
    ACKED = 2
    QUARANTINED = 3


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An envelope to store; ``lane`` 0 is the alarm lane and goes first."""

    id: str
    device: str
    seq: int
    lane: int
    topic: str
    payload: bytes

    @property
    def stored_bytes(self) -> int:
        """What the row will cost in the store, counted against the quota.

        Its bytes, plus an estimate of the digest, integers, record header and index entries
        that errs high so the quota is not overshot.
        """
        return len(self.payload) + len(self.id) + len(self.device) + len(self.topic) + 160


@dataclass(frozen=True, slots=True)
class MessageKey:
    """A device message's identity: its entries are stored once however often it is sent."""

    device: str
    key: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A stored row as handed to the sender or an operator listing."""

    rowid: int
    id: str
    device: str
    seq: int
    lane: int
    topic: str
    payload: bytes
    digest: bytes
    state: State
    created_at: float
    attempts: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Gauges for metrics and health checks; ``pending`` maps lane to row count."""

    pending: dict[int, int]
    sent: int
    acked: int
    quarantined: int
    oldest_pending_age_s: float | None
    used_bytes: int
    quota_bytes: int | None
