"""The MQTT forwarder: outbox lanes → broker, alarm lane first, nothing marked before PUBACK.

aiomqtt (on paho-mqtt 2) owns the connection, the will and subscriptions. Envelopes are published
through aiomqtt's paho client directly, with our own PUBACK callback, because aiomqtt discards the
MQTT 5 reason code and awaits one asyncio.Event per publish
(docs/adr/0004-aiomqtt-pin-and-publish-path.md).

Rows stay ``pending`` in the store until the broker confirms them; a reason code >= 0x80 is a
refusal: the row stays pending, is counted and retried later. A connection lost with rows in
flight re-reads them from the store on reconnect (at-least-once; consumers dedupe by id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aiomqtt
import paho.mqtt.client as paho_mqtt
from paho.mqtt.reasoncodes import ReasonCode

from drivers.backoff import Backoff
from edge_store import AsyncOutbox, DiskRefusedError, StoredEntry
from gateway.forwarding.broker_connection import ForwarderConfig, broker_refused_mqtt5, make_client
from gateway.forwarding.broker_inbox import BrokerInbox
from gateway.forwarding.broker_refusals import BrokerRefusals
from gateway.forwarding.lanes import LaneReader
from gateway.forwarding.mqtt_properties import PublishProperties
from gateway.forwarding.query_desk import QueryDesk
from gateway.forwarding.sent_marks import SentMarks
from gateway.forwarding.status_publishing import publish_statuses
from gateway.forwarding.topics import Topics
from gateway.metrics import Metrics
from gateway.status import StatusBoard
from gateway.task_joins import TaskJoins

log = logging.getLogger("wardlink.forwarder")

SESSION_JOIN_S = 5.0
"""How long a session's tasks get to finish once cancelled before they are left behind."""


class _SessionReset(Exception):
    """The connection is gone; unwind the session and reconnect."""


class Forwarder:
    def __init__(
        self,
        config: ForwarderConfig,
        topics: Topics,
        outbox: AsyncOutbox,
        metrics: Metrics,
        status: StatusBoard,
        *,
        desk: QueryDesk | None = None,
        reply_key: bytes | None = None,
        tasks: TaskJoins | None = None,
    ) -> None:
        self._cfg = config
        self._inbox = BrokerInbox(
            topics, metrics, on_acked=self.acked, desk=desk, reply_key=reply_key
        )
        self._tasks = tasks or TaskJoins(metrics)
        self._topics = topics
        self._outbox = outbox
        self._metrics = metrics
        self._status = status
        v311 = config.protocol == "3.1.1"
        self._protocol = aiomqtt.ProtocolVersion.V311 if v311 else aiomqtt.ProtocolVersion.V5
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._lanes = LaneReader(outbox, config.prefetch)
        self._inflight: dict[int, StoredEntry] = {}
        self._sent_marks = SentMarks(outbox, self._lanes)
        self._refusals = BrokerRefusals(metrics, config.refused_retry_s)
        self.connected = False
        self.progressed_at = time.monotonic()
        """When the broker last answered a publish of ours, or the consumer last acked one."""
        self._v5_worked = False  # once MQTT 5 worked, a failure is an outage, not a protocol

    # -- called by the pipeline and the daemon -------------------------------------------------
    def offer(self, rows: list[StoredEntry]) -> None:
        """Rows were just committed (the outbox's ``on_stored``), in rowid order."""
        self._lanes.offer(rows)
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Connect, forward, reconnect with backoff and jitter, until :meth:`stop`."""
        if self._cfg.end_to_end:
            # Whatever was sent but never receipted by the consumer goes again (promise 2).
            requeued = await self._outbox.requeue_sent()
            if requeued:
                log.info(
                    "re-sending %d envelopes sent before restart but never acknowledged", requeued
                )
        backoff = Backoff(self._cfg.reconnect_min_s, self._cfg.reconnect_max_s)
        while not self._stopping.is_set():
            try:
                await self._session(backoff)
                backoff.reset()
            except DiskRefusedError as exc:  # not a crash: the rows wait until space returns
                log.warning("forwarding paused, retrying: %s", exc)
            except (aiomqtt.MqttError, _SessionReset, OSError) as exc:
                fall_back = (
                    self._cfg.protocol == "auto"
                    and self._is_v5
                    and not self._v5_worked
                    and await broker_refused_mqtt5(self._cfg, exc)
                )
                if fall_back:
                    log.warning(
                        "broker does not accept MQTT 5 (%s); falling back to MQTT 3.1.1, where "
                        "ACL refusals are invisible: prefer an MQTT 5 broker",
                        exc,
                    )
                    self._protocol = aiomqtt.ProtocolVersion.V311
                    continue
                if backoff.attempts == 0:  # say it once per outage, not once per retry
                    log.warning(
                        "broker %s:%d unavailable, buffering to disk: %s",
                        self._cfg.host,
                        self._cfg.port,
                        exc,
                    )
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff.next_delay()):
                    await self._stopping.wait()

    # -- one connection ------------------------------------------------------------------------
    async def _session(self, backoff: Backoff) -> None:
        will = aiomqtt.Will(self._topics.status, self._status_payload("offline"), 1, True)
        async with make_client(self._cfg, self._protocol, will) as client:
            paho = client._client
            aiomqtt_on_publish = paho.on_publish
            assert aiomqtt_on_publish is not None

            def on_publish(*args: Any) -> None:
                self._on_puback(args[2], args[3])
                aiomqtt_on_publish(*args)

            paho.on_publish = on_publish
            self.connected = True
            backoff.reset()  # the link works: the next outage is logged, and starts over short
            self._v5_worked |= self._is_v5
            self._metrics.broker_connected.set(1)
            self._metrics.broker_protocol.set(5 if self._is_v5 else 4)
            log.info(
                "connected to broker %s:%d (MQTT %s)",
                self._cfg.host,
                self._cfg.port,
                "5" if self._is_v5 else "3.1.1",
            )
            try:  # from here on, a link lost at any await (even the first) must read as lost
                await client.publish(self._topics.status, self._status_payload("online"), 1, True)
                if self._cfg.end_to_end:
                    await client.subscribe(self._topics.ack, qos=1)
                if self._inbox.desk is not None:
                    await client.subscribe(self._topics.query_replies, qos=1)
                self._status.mark_all_changed()
                self._lanes.reset()
                self._wake.set()
                await self._serve(client, paho)
            finally:
                self.connected = False
                self._metrics.broker_connected.set(0)
                self._metrics.broker_protocol.set(0)
                await self._sent_marks.flush()
                self._inflight.clear()

    async def _serve(self, client: aiomqtt.Client, paho: paho_mqtt.Client) -> None:
        workers = [
            asyncio.create_task(self._pump(paho), name="forwarder-pump"),
            asyncio.create_task(self._read_inbound(client), name="forwarder-inbound"),
            asyncio.create_task(self._sent_marks.run(), name="forwarder-flusher"),
            asyncio.create_task(self._publish_statuses(client), name="forwarder-statuses"),
            asyncio.create_task(self._retry_later(), name="forwarder-retry"),
        ]
        stop = asyncio.create_task(self._stopping.wait(), name="forwarder-stop")
        try:
            done, _ = await asyncio.wait([*workers, stop], return_when=asyncio.FIRST_COMPLETED)
            if stop in done:
                workers[0].cancel()
                await self._drain_inflight()
                await client.publish(self._topics.status, self._status_payload("offline"), 1, True)
        finally:
            # Bounded: a worker that does not end must not keep the session, and with it every
            # later publish and the process's shutdown, waiting forever.
            await self._tasks.cancel_and_join([*workers, stop], SESSION_JOIN_S)
        # Every worker's error is retrieved (asyncio warns of those never read); the first ends
        # the session.
        errors = [t.exception() for t in workers if t.done() and not t.cancelled()]
        for error in errors:
            if error is not None:
                raise error

    @property
    def _is_v5(self) -> bool:
        return self._protocol is aiomqtt.ProtocolVersion.V5

    # -- publishing ----------------------------------------------------------------------------
    async def _pump(self, paho: paho_mqtt.Client) -> None:
        while True:
            free = self._cfg.window - len(self._inflight)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            rows = await self._lanes.take(free)
            if not rows:
                self._wake.clear()
                if not self._lanes.may_have_rows:
                    await self._wake.wait()
                continue
            for row in rows:
                self._publish(paho, row)

    def _publish(self, paho: paho_mqtt.Client, row: StoredEntry) -> None:
        # The store verified the digest when it read the row (claim); carry it to the consumer.
        properties = PublishProperties(row.digest.hex()) if self._is_v5 else None
        info = paho.publish(row.topic, row.payload, qos=1, properties=properties)  # type: ignore[arg-type]
        if info.rc != paho_mqtt.MQTT_ERR_SUCCESS:
            raise _SessionReset(paho_mqtt.error_string(info.rc))
        self._inflight[info.mid] = row

    def _on_puback(self, mid: int, reason: ReasonCode | int) -> None:
        row = self._inflight.pop(mid, None)
        if row is None:
            return  # a status publish, awaited by aiomqtt itself
        self._slot_free.set()
        self.progressed_at = time.monotonic()  # a refusal too: the link and forwarder are alive
        if isinstance(reason, ReasonCode) and reason.is_failure:
            self._lanes.release([row.rowid])
            self._refusals.note(row, reason)
            return
        kind = row.topic.rsplit("/", 2)[-2]
        self._metrics.bound(self._metrics.messages_out, row.device, kind).inc()
        self._metrics.forward_lag.observe(max(0.0, time.time() - row.created_at))
        self._sent_marks.confirm(row.rowid)

    async def _drain_inflight(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._inflight and time.monotonic() < deadline:
            self._slot_free.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - time.monotonic()):
                    await self._slot_free.wait()

    # -- end-to-end acks, retries and status -----------------------------------------------------
    async def _read_inbound(self, client: aiomqtt.Client) -> None:
        """End-to-end acks and answers to host queries: the centre → gateway topics."""
        # Iterating also surfaces a lost connection as MqttError, ending the session.
        async for message in client.messages:
            await self._inbox.handle(message.topic.value, message.payload, message.properties)

    async def acked(self, ids: list[str]) -> None:
        """The consumer confirmed these envelope ids (a decoded ``ack``)."""
        marked = await self._outbox.mark_acked(ids)
        self._metrics.e2e_acked.inc(marked)
        if marked:
            self.progressed_at = time.monotonic()

    async def _retry_later(self) -> None:
        """Give refused rows, and (end-to-end mode) unreceipted rows, another go."""
        period = self._cfg.refused_retry_s
        if self._cfg.end_to_end:
            period = min(period, self._cfg.resend_unacked_after_s / 2)
        while True:
            await asyncio.sleep(period)
            if self._cfg.end_to_end:
                requeued = await self._outbox.requeue_sent(self._cfg.resend_unacked_after_s)
                if requeued:
                    log.warning(
                        "re-sending %d envelopes not acknowledged within %.0f s",
                        requeued,
                        self._cfg.resend_unacked_after_s,
                    )
            self._lanes.rewind()
            self._wake.set()

    async def _publish_statuses(self, client: aiomqtt.Client) -> None:
        await publish_statuses(client, self._topics, self._status)

    def _status_payload(self, state: str) -> bytes:
        return json.dumps({"state": state, "gateway_id": self._topics.gateway_id}).encode()
