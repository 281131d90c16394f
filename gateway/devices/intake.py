"""What a device runner sees of the pipeline: submit events, report its state.

A runner calls :meth:`Intake.submit` and answers its device positively only after it returns:
the event is then committed to the durable outbox (promise 1). ``submit`` raises
:class:`edge_store.StoreError` (e.g. ``StoreFullError``) when the event is not durable; the runner
answers negatively (NAK / AE) so the device retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from adapters.astm.unread import Position
from adapters.canonical.events import CanonicalEvent, DeviceState, OrderQuery
from adapters.canonical.orders import OrderReply

ConnectionDropReason = Literal[
    "cap_evicted_idle", "cap_refused", "idle_timeout", "message_deadline"
]
"""Why a limit ended a device connection: a bounded set, fit for a metric label."""


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

    async def submit_many(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
        message_key: str | None = None,
    ) -> list[str]:
        """Commit the events of one device message atomically: all of them or none.

        A message with two specimens must not be half stored, or the device's retry after a
        negative answer would store the first specimen twice. With ``message_key``, a message
        of this device already stored under that key is not stored again (``[]`` returned):
        the device resent it because its answer was lost, perhaps to a gateway restart.
        """
        ...

    async def ask_host(
        self, device_id: str, query: OrderQuery, *, raw: bytes | None, timeout_s: float
    ) -> OrderReply | None:
        """Commit the query (it is forwarded on the alarm lane) and wait for the centre's answer.

        ``None`` when no answer came within ``timeout_s`` or the query could not be stored: the
        device is then told "no information" while it still listens.
        """
        ...

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        """Record a device's connection state (metrics and the retained status topic)."""
        ...

    def count_rejected(self, device_id: str, reason: str, raw: bytes | None = None) -> None:
        """Count malformed input from a device and keep its bytes for inspection."""
        ...

    def count_unread_fields(self, device_id: str, unread: Mapping[Position, int]) -> None:
        """Count non-empty fields no rule of the device's dialect read, by (record type, field).

        A wrong dialect or a field a vendor moved shows up here (metric and device status)
        instead of vanishing: see :mod:`adapters.astm.unread`.
        """

    def count_connection_dropped(self, device_id: str, reason: ConnectionDropReason) -> None:
        """Count a connection closed or refused by a limit (cap, idle timeout, deadline)."""
        ...
