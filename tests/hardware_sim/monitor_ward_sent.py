"""What the monitor ward keeps of each message it sent: when, for which bed, and its ACK.

Tests and the benchmark read these records (:attr:`~.monitor_ward.MonitorWard.sent`) to match
messages the gateway stored, and to measure ACK latency; a message counts as delivered only
with a positive ACK (:data:`POSITIVE_ACKS`) for its own control id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

POSITIVE_ACKS = frozenset({"AA", "CA"})
Kind = Literal["vitals", "alarm"]


@dataclass
class Sent:
    """One message the ward sent, and what became of it."""

    control_id: str
    bed: str
    kind: Kind
    sent_at: float
    """``time.time()`` just before the frame was written."""
    numerics: tuple[str, ...] = ()
    """MDC codes of the numerics (vitals), in message order."""
    forced: bool = False
    ack: str | None = None
    acked_at: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.ack in POSITIVE_ACKS and self.error is None
