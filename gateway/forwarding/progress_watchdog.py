"""Is the forwarder stuck? Rows pending, the broker connected, and no progress for a while.

Progress is any PUBACK for one of our envelopes (a refusal too: the link and the forwarder are
alive, and a restart would not help an ACL) or an end-to-end ack that marked a row: never "the
backlog reached zero", so a slow catch-up of a large backlog never fails liveness. The clock
starts when rows are first seen pending on a connected broker, so the first row after a long
idle hour is not taken for a stall.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.forwarding.forwarder import Forwarder
    from gateway.metrics import Metrics
    from gateway.task_joins import TaskJoins


@dataclass
class ProgressWatchdog:
    stall_after_s: float
    _watching_since: float | None = None
    stalled_s: float = 0.0
    """Seconds without progress while watching (0 when not watching); updated by observe."""

    def observe(self, *, pending: int, connected: bool, progressed_at: float, now: float) -> float:
        """Update and return :attr:`stalled_s` from the current state."""
        if pending <= 0 or not connected:
            self._watching_since = None
            self.stalled_s = 0.0
        else:
            if self._watching_since is None:
                self._watching_since = now
            self.stalled_s = max(0.0, now - max(progressed_at, self._watching_since))
        return self.stalled_s

    @property
    def stalled(self) -> bool:
        return self.stalled_s >= self.stall_after_s


class ForwarderLiveness:
    """The forwarder's part of ``/healthz``: a stall, or tasks left behind after cancellation."""

    def __init__(
        self, stall_after_s: float, forwarder: Forwarder, tasks: TaskJoins, metrics: Metrics
    ) -> None:
        self.watchdog = ProgressWatchdog(stall_after_s)
        self._forwarder = forwarder
        self._tasks = tasks
        self._metrics = metrics
        self._pending = 0

    def observe(self, pending: int | None = None) -> float:
        """Update the stall clock (``pending``: the store's latest count, if new)."""
        if pending is not None:
            self._pending = pending
        stalled_s = self.watchdog.observe(
            pending=self._pending,
            connected=self._forwarder.connected,
            progressed_at=self._forwarder.progressed_at,
            now=time.monotonic(),
        )
        self._metrics.forward_stalled.set(stalled_s)
        return stalled_s

    def failing_checks(self) -> dict[str, str]:
        """Why liveness fails on the forwarder's account; empty while it is healthy."""
        checks = {}
        stalled_s = self.observe()
        if self.watchdog.stalled:
            # The forwarder hangs (not crashes) with rows to send: a restart is the way out.
            checks["forwarder"] = (
                f"stalled: {self._pending} rows pending, no PUBACK or ack for {stalled_s:.0f} s "
                "while connected to the broker"
            )
        stuck = self._tasks.stuck_names()
        if stuck:
            checks["tasks"] = "stuck after cancellation: " + ", ".join(stuck)
        return checks
