"""Is the forwarder stuck? Rows pending, the broker connected, and no progress for a while.

Progress is any PUBACK for one of our envelopes (a refusal too: the link and the forwarder are
alive, and a restart would not help an ACL) or an end-to-end ack that marked a row: never "the
backlog reached zero", so a slow catch-up of a large backlog never fails liveness. The clock
starts when rows are first seen pending on a connected broker, so the first row after a long
idle hour is not taken for a stall.
"""

from __future__ import annotations

from dataclasses import dataclass


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
