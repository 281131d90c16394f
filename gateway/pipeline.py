"""Device events → envelopes → the durable outbox; wakes the forwarder after each commit.

This is the :class:`gateway.intake.Intake` that device runners talk to. ``submit`` returns only
after the group commit holding the event has reached disk (promise 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from adapters.canonical.events import CanonicalEvent, DeviceState
from edge_store import AsyncOutbox, NewEntry, StoreError
from gateway.envelope import Envelope, RawMessage, UlidFactory, utc_now
from gateway.metrics import Metrics
from gateway.status import StatusBoard
from gateway.topics import Lane, Topics, lane_for

log = logging.getLogger("wardlink.pipeline")


class IntakeClosedError(RuntimeError):
    """The gateway is shutting down and takes no new events."""


@dataclass(frozen=True)
class DeviceInfo:
    kind: str
    encoding: str = "utf-8"


class Pipeline:
    def __init__(
        self,
        *,
        topics: Topics,
        outbox: AsyncOutbox,
        metrics: Metrics,
        status: StatusBoard,
        devices: dict[str, DeviceInfo],
        on_committed: Callable[[Lane], None],
    ) -> None:
        self._topics = topics
        self._outbox = outbox
        self._metrics = metrics
        self._status = status
        self._devices = devices
        self._on_committed = on_committed
        self._ids = UlidFactory()
        self._seq: dict[str, int] = {}
        self._closed = False
        self.refusing = False
        """True from a refused commit until the next successful one (readiness, metric)."""

    async def start(self) -> None:
        """Continue every device's sequence where the store left it."""
        self._seq = dict(await self._outbox.last_sequences())

    def close(self) -> None:
        self._closed = True

    async def submit(
        self,
        device_id: str,
        event: CanonicalEvent,
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
    ) -> str:
        if self._closed:
            msg = "gateway is shutting down"
            raise IntakeClosedError(msg)
        device = self._devices[device_id]
        seq = self._seq.get(device_id, 0) + 1
        self._seq[device_id] = seq
        envelope = Envelope(
            id=self._ids.new(),
            site=self._topics.site,
            ward=self._topics.ward,
            gateway_id=self._topics.gateway_id,
            device_id=device_id,
            device_kind=device.kind,
            seq=seq,
            device_time=device_time,
            received_at=utc_now(),
            payload=event,
            raw=None if raw is None else RawMessage.from_bytes(raw, device.encoding),
        )
        lane = lane_for(event.kind)
        entry = NewEntry(
            id=envelope.id,
            device=device_id,
            seq=seq,
            lane=int(lane),
            topic=self._topics.event(event.kind, device_id),
            payload=envelope.to_json_bytes(),
        )
        try:
            await self._outbox.append(entry)
        except StoreError as exc:
            # Give the number back when nothing newer was handed out, so a device that
            # retries after a refusal leaves no gap in its sequence.
            if self._seq.get(device_id) == seq:
                self._seq[device_id] = seq - 1
            self.refusing = True
            self._metrics.refused.labels(device=device_id).inc()
            log.warning(
                "device %s: event not stored, device answered negatively: %s", device_id, exc
            )
            raise
        self.refusing = False
        self._metrics.bound(self._metrics.messages_in, device_id, event.kind).inc()
        self._status.message_committed(device_id)
        self._on_committed(lane)
        return envelope.id

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        self._status.report_state(device_id, state, detail)

    def count_rejected(self, device_id: str, reason: str) -> None:
        self._metrics.rejected.labels(device=device_id).inc()
        log.warning("device %s: input rejected: %s", device_id, reason)
