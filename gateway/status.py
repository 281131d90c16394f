"""Gateway and per-device status, as the retained MQTT status topics and metrics show them.

A device failing over and over is reported once as unavailable and once as back (Home
Assistant's log-once rule): the 3 a.m. log should say what changed, not repeat it.

``disabled`` means the gateway does not run the device (disabled in the configuration, or
stopped at runtime); ``wardlink_device_enabled`` says the same, so a stopped device is never
read as a disconnected one.

**Freshness** (issue 14: a monitor's retained status once read ``messages_total: 0`` while
``/metrics`` counted 18). A change of state is published at once; counts that moved since the last
publish within :attr:`StatusBoard.counts_every_s`; and every device at least every
:attr:`StatusBoard.refresh_every_s`, changed or not. Publishing on every message would double the
broker traffic of a busy ward for a number nobody reads that fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from adapters.astm.unread import Position
from adapters.canonical.events import DeviceState, DeviceStatus
from gateway.envelope import utc_now
from gateway.metrics import Metrics

log = logging.getLogger("wardlink.status")

COUNTS_EVERY_S = 5.0
REFRESH_EVERY_S = 60.0

UNREAD_POSITIONS_LIMIT = 64
"""Distinct unread positions kept per device; more are summed under ``"<type>-*"`` (bounded)."""


@dataclass(frozen=True)
class LastError:
    """The latest error reported for a device, in the words it was reported with."""

    text: str
    at: datetime


class StatusBoard:
    """The latest status of every device; the forwarder publishes what changed."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        counts_every_s: float = COUNTS_EVERY_S,
        refresh_every_s: float = REFRESH_EVERY_S,
    ) -> None:
        self._metrics = metrics
        self.counts_every_s = counts_every_s
        self.refresh_every_s = refresh_every_s
        self._status: dict[str, DeviceStatus] = {}
        self._last_message: dict[str, datetime] = {}
        self._messages: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._rejects: dict[str, int] = {}
        self._connects: dict[str, int] = {}
        self._last_error: dict[str, LastError] = {}
        self._unread: dict[str, dict[str, int]] = {}
        self._dirty: set[str] = set()
        self._counted: set[str] = set()
        """Devices whose counts moved since their status was last taken for publishing."""
        self.changed = asyncio.Event()

    def add_device(self, device_id: str, *, enabled: bool = True) -> None:
        state = DeviceState.DISCONNECTED if enabled else DeviceState.DISABLED
        self._status[device_id] = DeviceStatus(state=state)
        self._metrics.device_up.labels(device=device_id).set(0)
        self._metrics.device_enabled.labels(device=device_id).set(enabled)
        self._mark(device_id)

    def report_state(self, device_id: str, state: DeviceState, detail: str | None) -> None:
        previous = self._status.get(device_id)
        if previous is not None and previous.state == state and previous.detail == detail:
            return
        if state is DeviceState.ERROR:
            self._errors[device_id] = self._errors.get(device_id, 0) + 1
            self._last_error[device_id] = LastError(detail or "error", utc_now())
        if state is DeviceState.CONNECTED and (previous is None or previous.state != state):
            self._connects[device_id] = self._connects.get(device_id, 0) + 1
        if previous is None or previous.state != state:
            level = logging.WARNING if state is DeviceState.ERROR else logging.INFO
            log.log(
                level, "device %s is %s%s", device_id, state.value, f": {detail}" * bool(detail)
            )
        self._metrics.device_up.labels(device=device_id).set(state is DeviceState.CONNECTED)
        self._metrics.device_enabled.labels(device=device_id).set(state is not DeviceState.DISABLED)
        self._status[device_id] = self._build(device_id, state, detail)
        self._mark(device_id)

    def message_committed(self, device_id: str) -> datetime:
        """Count one committed message; its time (also ``last_message_at``)."""
        at = self._last_message[device_id] = utc_now()
        self._messages[device_id] = self._messages.get(device_id, 0) + 1
        self._counted.add(device_id)
        return at

    def input_rejected(self, device_id: str) -> None:
        self._rejects[device_id] = self._rejects.get(device_id, 0) + 1

    def rejects_total(self, device_id: str) -> int:
        return self._rejects.get(device_id, 0)

    def reconnects_total(self, device_id: str) -> int:
        """Times the device's link came up again after it had been up once."""
        return max(0, self._connects.get(device_id, 0) - 1)

    def fields_unread(self, device_id: str, unread: Mapping[Position, int]) -> None:
        """Add a message's unread ASTM fields to the device's status (``"P-7": 2``)."""
        seen = self._unread.setdefault(device_id, {})
        for (record_type, field), count in unread.items():
            key = f"{record_type}-{field}"
            if key not in seen and len(seen) >= UNREAD_POSITIONS_LIMIT:
                key = f"{record_type}-*"
            seen[key] = seen.get(key, 0) + count
        self._mark(device_id)

    def snapshot(self, device_id: str) -> DeviceStatus:
        current = self._status[device_id]
        return self._build(device_id, current.state, current.detail)

    def last_error(self, device_id: str) -> LastError | None:
        return self._last_error.get(device_id)

    def take_changed(self) -> list[str]:
        """Devices whose status changed since the last call (all of them after a reconnect)."""
        changed, self._dirty = sorted(self._dirty), set()
        self._counted -= set(changed)
        self.changed.clear()
        return changed

    def take_counted(self) -> list[str]:
        """Devices whose counts moved since their status was last taken."""
        counted, self._counted = sorted(self._counted), set()
        return counted

    @property
    def device_ids(self) -> list[str]:
        return list(self._status)

    def mark_all_changed(self) -> None:
        for device_id in self._status:
            self._mark(device_id)

    def _build(self, device_id: str, state: DeviceState, detail: str | None) -> DeviceStatus:
        return DeviceStatus(
            state=state,
            detail=detail,
            last_message_at=self._last_message.get(device_id),
            messages_total=self._messages.get(device_id, 0),
            errors_total=self._errors.get(device_id, 0),
            unread_fields=dict(self._unread.get(device_id, {})),
        )

    def _mark(self, device_id: str) -> None:
        self._dirty.add(device_id)
        self.changed.set()
