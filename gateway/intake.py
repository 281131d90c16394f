"""What a device runner sees of the pipeline: submit events, report its state.

A runner calls :meth:`Intake.submit` and answers its device positively only after it returns:
the event is then committed to the durable outbox (promise 1). ``submit`` raises
:class:`edge_store.StoreError` (e.g. ``StoreFullError``) when the event is not durable; the runner
answers negatively (NAK / AE) so the device retries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from adapters.canonical.events import CanonicalEvent, DeviceState


class Intake(Protocol):
    async def submit(
        self,
        device_id: str,
        event: CanonicalEvent,
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
    ) -> str:
        """Commit one event durably; return its envelope id."""
        ...

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        """Record a device's connection state (metrics and the retained status topic)."""
        ...

    def count_rejected(self, device_id: str, reason: str) -> None:
        """Count malformed input from a device (a metric; the runner keeps the bytes)."""
        ...
