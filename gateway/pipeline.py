"""Device events → envelopes → the durable outbox; wakes the forwarder after each commit.

This is the :class:`gateway.devices.intake.Intake` that device runners talk to. ``submit`` returns
only after the group commit holding the event has reached disk (promise 1); the outbox hands the
committed rows to the forwarder itself (``AsyncOutbox.on_stored``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from adapters.astm.unread import Position
from adapters.canonical.events import (
    CanonicalEvent,
    DeviceState,
    LabResult,
    OrderQuery,
    QcResult,
)
from adapters.canonical.orders import OrderReply
from edge_store import AsyncOutbox, MessageKey, NewEntry, StoreError
from gateway.device_time import stated_time
from gateway.devices.intake import ConnectionDropReason
from gateway.envelope import Envelope, RawMessage, UlidFactory, utc_now
from gateway.forwarding.query_desk import QueryDesk
from gateway.forwarding.topics import Topics, lane_for
from gateway.metrics import Metrics
from gateway.rejects import RejectArchive
from gateway.status import StatusBoard
from gateway.unmapped import UnmappedCodes

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
        rejects: RejectArchive | None = None,
        desk: QueryDesk | None = None,
    ) -> None:
        self._topics = topics
        self._outbox = outbox
        self._metrics = metrics
        self._status = status
        self._devices = devices
        self._rejects = rejects
        self._desk = desk
        self._ids = UlidFactory()
        self._seq: dict[str, int] = {}
        self._closed = False
        self.unmapped = UnmappedCodes()
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
        (envelope_id,) = await self.submit_many(
            device_id, [event], raw=raw, device_time=device_time
        )
        return envelope_id

    async def submit_many(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
        message_key: str | None = None,
    ) -> list[str]:
        """Store ``events`` as one message.

        ``device_time`` is the message's own time (MSH-7, H-14), used for an event that states
        no time of its own (:mod:`gateway.device_time`).
        """
        if self._closed:
            msg = "gateway is shutting down"
            raise IntakeClosedError(msg)
        device = self._devices[device_id]
        first = self._seq.get(device_id, 0) + 1
        last = first + len(events) - 1
        self._seq[device_id] = last
        received_at = utc_now()
        raw_message = None if raw is None else RawMessage.from_bytes(raw, device.encoding)
        entries = []
        for seq, event in enumerate(events, start=first):
            envelope = Envelope(
                id=self._ids.new(),
                site=self._topics.site,
                ward=self._topics.ward,
                gateway_id=self._topics.gateway_id,
                device_id=device_id,
                device_kind=device.kind,
                seq=seq,
                device_time=stated_time(event, device_time),
                received_at=received_at,
                payload=event,
                raw=raw_message,
            )
            entries.append(
                NewEntry(
                    id=envelope.id,
                    device=device_id,
                    seq=seq,
                    lane=int(lane_for(event.kind)),
                    topic=self._topics.event(event.kind, device_id),
                    payload=envelope.to_json_bytes(),
                )
            )
        key = None if message_key is None else MessageKey(device_id, message_key)
        append = asyncio.ensure_future(self._outbox.append_message(key, entries))
        try:
            stored = await asyncio.shield(append)
        except asyncio.CancelledError:
            # Stopped mid-commit: the commit goes on in the store's writer thread. Wait for it
            # (the caller's join is bounded) so the status and metrics agree with the store.
            (outcome,) = await asyncio.gather(append, return_exceptions=True)
            self._settle(device_id, events, first, last, outcome)
            raise
        except StoreError as exc:
            self._give_back(device_id, first, last)
            self.refusing = True
            self._metrics.refused.labels(device=device_id).inc()
            log.warning(
                "device %s: event not stored, device answered negatively: %s", device_id, exc
            )
            raise
        self.refusing = False
        if stored is None:
            self._give_back(device_id, first, last)
            log.info("device %s: a message it sent before, already stored: kept once", device_id)
            return []
        self._count_committed(device_id, events)
        return [entry.id for entry in entries]

    def _settle(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        first: int,
        last: int,
        outcome: object,
    ) -> None:
        """Account for a commit its caller stopped waiting for: counted, or its seq given back."""
        if outcome is None or isinstance(outcome, BaseException):
            self._give_back(device_id, first, last)
        else:
            self._count_committed(device_id, events)

    def _count_committed(self, device_id: str, events: Sequence[CanonicalEvent]) -> None:
        for event in events:
            self._metrics.bound(self._metrics.messages_in, device_id, event.kind).inc()
            at = self._status.message_committed(device_id).timestamp()
            self._metrics.device_last_message.labels(device=device_id, kind=event.kind).set(at)
            if isinstance(event, QcResult) and event.ambiguous:
                self._metrics.qc_ambiguous.labels(device=device_id, role=event.role).inc()
            if isinstance(event, LabResult | QcResult):
                for observation in event.observations:
                    if observation.unmapped:
                        # The code is device input: counted in memory, never a label (issue 11).
                        self._metrics.unmapped.labels(device=device_id).inc()
                        self.unmapped.count(device_id, observation.local_code.code)
                    if not observation.local_code.code.strip():  # forwarded flagged NO_CODE
                        metric = self._metrics.results_without_code
                        self._metrics.bound(metric, device_id, event.kind).inc()

    def _give_back(self, device_id: str, first: int, last: int) -> None:
        # When nothing newer was handed out, so a device that retries after a refusal (or
        # resends a stored message) leaves no gap in its sequence.
        if self._seq.get(device_id) == last:
            self._seq[device_id] = first - 1

    async def ask_host(
        self, device_id: str, query: OrderQuery, *, raw: bytes | None, timeout_s: float
    ) -> OrderReply | None:
        if self._desk is None:
            return None
        answer = self._desk.expect(device_id, query.query_id, timeout_s)
        try:
            async with asyncio.timeout(timeout_s):
                await self.submit(device_id, query, raw=raw)
                return await answer
        except TimeoutError:
            log.info(
                "device %s: query %s unanswered in %.1f s", device_id, query.query_id, timeout_s
            )
            return None
        except StoreError:
            return None  # logged and counted by submit
        finally:
            self._desk.forget(query.query_id)

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        self._status.report_state(device_id, state, detail)

    def count_unread_fields(self, device_id: str, unread: Mapping[Position, int]) -> None:
        by_type: dict[str, int] = {}
        for (letter, _), count in unread.items():
            by_type[letter] = by_type.get(letter, 0) + count
        for record_type, total in by_type.items():
            metric = self._metrics.astm_unread_fields
            metric.labels(device=device_id, record_type=record_type).inc(total)
        self._status.fields_unread(device_id, unread)

    def count_connection_dropped(self, device_id: str, reason: ConnectionDropReason) -> None:
        kind = self._devices[device_id].kind if device_id in self._devices else "unknown"
        self._metrics.connections_dropped.labels(device=device_id, kind=kind, reason=reason).inc()

    def count_rejected(self, device_id: str, reason: str, raw: bytes | None = None) -> None:
        self._metrics.rejected.labels(device=device_id).inc()
        self._status.input_rejected(device_id)
        if self._rejects is not None:
            # Kept, and logged once per burst, off the event loop (the archive never blocks).
            self._rejects.keep(device_id, reason, raw or b"")
        else:
            log.warning("device %s: input rejected: %s", device_id, reason)
