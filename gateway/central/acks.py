"""The consumer's end-to-end acks: ids whose lines are written, waiting for the fsync to be sent.

An id is acknowledged to its gateway only after its line is on disk, so acks wait here, grouped
by ack topic, until the output is synced; a batch goes every ``ACK_PERIOD_S`` or ``ACK_BATCH`` ids.
"""

from __future__ import annotations

import time

ACK_BATCH = 500
ACK_PERIOD_S = 0.05


class PendingAcks:
    """Written, not yet fsynced ids per ack topic. Not thread-safe: the caller holds its lock."""

    def __init__(self) -> None:
        self._by_topic: dict[str, list[str]] = {}
        self._taken_at = time.monotonic()

    def add(self, envelope_topic: str, envelope_id: str) -> None:
        base = envelope_topic.rsplit("/", 2)[0]
        self._by_topic.setdefault(f"{base}/ack", []).append(envelope_id)

    def due(self, *, force: bool = False) -> bool:
        """Whether a batch should go now: forced, the period is over, or the batch is full."""
        if force or time.monotonic() - self._taken_at >= ACK_PERIOD_S:
            return True
        return sum(map(len, self._by_topic.values())) >= ACK_BATCH

    def __bool__(self) -> bool:
        return bool(self._by_topic)

    def take(self) -> dict[str, list[str]]:
        """The ids to ack now (their lines are synced), by ack topic."""
        taken, self._by_topic = self._by_topic, {}
        self._taken_at = time.monotonic()
        return taken

    def drop(self) -> None:
        """Forget them: their lines may not be on disk, so they must never be acked."""
        self._by_topic = {}
