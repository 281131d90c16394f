"""Everything the broker hands the gateway, routed by topic, decoded with bounds, never trusted.

The centre → gateway topics are ``ack`` (end-to-end receipts) and ``query-reply/{device}``
(answers to host queries). A message that fails a check is counted in
``wardlink_broker_input_rejected_total{topic_kind, reason}``, logged without its content at most
once a minute per kind and reason, and dropped: no broker message can reach a crash path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.forwarding.broker_input import (
    MAX_REPLY_BYTES,
    SIGNATURE_PROPERTY,
    Reason,
    Refused,
    check_signature,
    decode_ack,
    decode_query_reply,
)
from gateway.forwarding.mqtt_properties import user_property
from gateway.forwarding.query_desk import QueryDesk
from gateway.forwarding.topics import Topics
from gateway.metrics import Metrics

log = logging.getLogger("wardlink.inbox")

_LOG_EVERY_S = 60.0


class BrokerInbox:
    def __init__(
        self,
        topics: Topics,
        metrics: Metrics,
        *,
        on_acked: Callable[[list[str]], Awaitable[None]],
        desk: QueryDesk | None = None,
        reply_key: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._topics = topics
        self._metrics = metrics
        self._on_acked = on_acked
        self.desk = desk
        self._reply_key = reply_key
        self._reply_prefix = topics.query_reply("")
        self._clock = clock
        self._logged_at: dict[tuple[str, Reason], float] = {}
        self._unlogged: dict[tuple[str, Reason], int] = {}

    async def handle(self, topic: str, payload: Any, properties: Any = None) -> None:
        """One message from the broker (aiomqtt's topic string, payload and MQTT 5 properties)."""
        data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        if topic == self._topics.ack:
            ids = decode_ack(data)
            if isinstance(ids, Refused):
                self._refuse("ack", ids.reason)
            else:
                await self._on_acked(ids)
        elif topic.startswith(self._reply_prefix) and self.desk is not None:
            device_id = topic[len(self._reply_prefix) :]
            reason = self._take_reply(
                topic, device_id, data, user_property(properties, SIGNATURE_PROPERTY)
            )
            if reason is not None:
                self._refuse("query_reply", reason)
        else:
            self._refuse("other", Reason.UNKNOWN_TOPIC)

    def _take_reply(
        self, topic: str, device_id: str, data: bytes, signature: str | None
    ) -> Reason | None:
        assert self.desk is not None
        if len(data) > MAX_REPLY_BYTES:
            return Reason.TOO_LARGE
        if self._reply_key is not None:
            # Checked before parsing: a payload the centre did not sign is never parsed.
            wrong = check_signature(self._reply_key, topic, data, signature)
            if wrong is not None:
                return wrong
        reply = decode_query_reply(data)
        if isinstance(reply, Refused):
            return reply.reason
        return self.desk.deliver(device_id, reply)

    def _refuse(self, topic_kind: str, reason: Reason) -> None:
        self._metrics.broker_input_rejected.labels(topic_kind=topic_kind, reason=reason).inc()
        key = (topic_kind, reason)
        now = self._clock()
        last = self._logged_at.get(key)
        if last is not None and now - last < _LOG_EVERY_S:
            self._unlogged[key] = self._unlogged.get(key, 0) + 1
            return
        self._logged_at[key] = now
        also = self._unlogged.pop(key, 0)
        # The reason only: a payload may hold patient data, a topic anything its sender chose.
        log.warning(
            "dropped a broker message on %s: %s%s",
            topic_kind,
            reason.value,
            f" (and {also} more like it since)" if also else "",
        )
