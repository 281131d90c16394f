"""The reference central consumer: subscribe, validate, de-duplicate, write JSON lines, ack.

Ops use it to watch a ward; tests use it as the receiving side. It PUBACKs a message only after
its line is written (paho's manual ack) and, with ``--ack``, confirms envelope ids on the
gateway's ack topic, so the gateway may consider them delivered end to end, only after their
lines are fsynced (:mod:`gateway.central.output`). A write that fails stops the consumer with
one line and a non-zero exit: what it did not keep is neither PUBACKed nor acknowledged, so the
broker and the gateway still hold it. So does a network thread that dies: the process stops
instead of living on without consuming.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import fastjsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.central.acks import ACK_PERIOD_S, PendingAcks
from gateway.central.order_book import OrderBook
from gateway.central.output import JsonLinesOutput
from gateway.central.pretty import PrettyLines
from gateway.central.report import Tally
from gateway.central.validation import EnvelopeValidator
from gateway.forwarding.broker_input import SIGNATURE_PROPERTY, nesting_exceeds, reply_signature
from gateway.forwarding.mqtt_properties import DIGEST_PROPERTY, connect_properties, user_property
from gateway.forwarding.topics import KIND_SEGMENTS, URGENT_KINDS

log = logging.getLogger("wardlink.consume")

_MAX_ENVELOPE_DEPTH = 32
"""An envelope nests about 6 deep; deeper is hostile, and json.loads would recurse on it."""


@dataclass(frozen=True)
class ConsumeOptions:
    host: str
    port: int
    topic_root: str = "wardlink"
    gateway_filter: str = "+/+/+"  # site/ward/gateway, MQTT wildcards allowed
    client_id: str = "wardlink-consumer"
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5
    persistent: bool = True
    send_acks: bool = False
    output: Path | None = None
    pretty: bool = False
    username: str | None = None
    password: str | None = None
    orders: Path | None = None
    """Answer host queries from this order file (:mod:`gateway.central.order_book`)."""
    reply_key: bytes | None = None
    """Sign query replies with this shared key (the gateways' ``query_reply_key_file``)."""


class Consumer:
    def __init__(self, options: ConsumeOptions, out: JsonLinesOutput) -> None:
        self.options = options
        self.tally = Tally()
        self._pretty = PrettyLines() if options.pretty else None
        self._out = out
        self._seen: set[str] = set()
        self._validate = EnvelopeValidator()
        self._pending_acks = PendingAcks()  # acked only after the next sync
        # Two network threads and the main loop share the tally, the output and the acks.
        self._lock = threading.Lock()
        self.failure: str | None = None
        """Why the consumer stopped on its own (a write failed, a network thread died)."""
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._orders = OrderBook.load(options.orders) if options.orders else None
        # Alarms (and host queries, which an analyzer waits for) get a session of their own: a
        # broker keeps one FIFO queue per session, so an alarm sharing the session of a
        # draining backlog would wait behind all of it.
        segments = list(KIND_SEGMENTS.values())
        urgent = [KIND_SEGMENTS[kind] for kind in sorted(URGENT_KINDS)]
        self._clients = {
            "": self._make_client("", [seg for seg in segments if seg not in urgent]),
            "-alarm": self._make_client("-alarm", urgent),
        }

    def remember(self, earlier_output: Path) -> None:
        """De-duplicate against the ids an earlier run already wrote to this file."""
        if not earlier_output.exists():
            return
        with earlier_output.open(encoding="utf-8") as lines:
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._seen.add(json.loads(line)["id"])

    def _make_client(self, suffix: str, segments: list[str]) -> mqtt.Client:
        opts = self.options
        v5 = opts.protocol == mqtt.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=opts.client_id + suffix,
            protocol=opts.protocol,
            clean_session=None if v5 else not opts.persistent,
            manual_ack=True,
        )
        if opts.username:
            client.username_pw_set(opts.username, opts.password)
        client.max_inflight_messages_set(1000)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        topics = [f"{opts.topic_root}/{opts.gateway_filter}/{segment}/+" for segment in segments]
        client.on_connect = partial(self._on_connect, topics)
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, topics: list[str], client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None
    ) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        client.subscribe([(topic, 1) for topic in topics])
        log.info("consuming %s", ", ".join(topics))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            with self._lock:
                if self.failure is not None:
                    return  # stopping: keep nothing more, so acknowledge nothing more
                digest = user_property(getattr(message, "properties", None), DIGEST_PROPERTY)
                self.handle(message.topic, bytes(message.payload), digest)
        except OSError as exc:
            self._fail(f"cannot write {self._out.name}: {exc.strerror or exc}")
            return  # no PUBACK: the broker keeps the message for the next run
        except Exception as exc:
            # Raised here it would end paho's network thread and leave a process that no
            # longer consumes; stop loudly instead.
            log.exception("consumer failed on a message from %s", message.topic)
            self._fail(f"failed on a message: {type(exc).__name__}")
            return
        client.ack(message.mid, message.qos)
        self._maybe_flush_acks()

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason

    def handle(self, topic: str, payload: bytes, digest_hex: str | None) -> None:
        tally = self.tally
        tally.received += 1
        if digest_hex is not None:
            if hashlib.sha256(payload).hexdigest() != digest_hex:
                tally.digest_mismatches += 1
                log.error("digest mismatch on %s: dropped, the gateway will re-send", topic)
                return
            tally.digests_verified += 1
        try:
            if nesting_exceeds(payload, _MAX_ENVELOPE_DEPTH):
                raise ValueError(f"nested deeper than {_MAX_ENVELOPE_DEPTH}")
            envelope = json.loads(payload)
            self._validate(envelope)
        except (ValueError, fastjsonschema.JsonSchemaException) as exc:
            tally.invalid += 1
            log.error("invalid envelope on %s: %s", topic, exc)
            return
        envelope_id = envelope["id"]
        if envelope_id in self._seen:
            tally.duplicates += 1
            self._queue_ack(topic, envelope_id)  # its line is written (this run or before)
            return
        if self._orders is not None and envelope["payload"]["kind"] == "order_query":
            self._answer(topic, envelope["payload"])
        # The bytes as they arrived (byte-faithful for audit); counted once written, not before.
        line = self._pretty.line(envelope).encode() if self._pretty else payload
        self._out.write_line(line)
        self._seen.add(envelope_id)
        tally.unique += 1
        tally.sequences.see(f"{envelope['gateway_id']}/{envelope['device_id']}", envelope["seq"])
        self._queue_ack(topic, envelope_id)

    def _answer(self, topic: str, query: dict[str, Any]) -> None:
        assert self._orders is not None
        base, _segment, device = topic.rsplit("/", 2)
        reply = self._orders.answer(query)
        reply_topic = f"{base}/query-reply/{device}"
        properties = None
        if self.options.reply_key is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            signature = reply_signature(self.options.reply_key, reply_topic, reply)
            properties.UserProperty = (SIGNATURE_PROPERTY, signature)
        self._clients["-alarm"].publish(reply_topic, reply, qos=1, properties=properties)

    def _queue_ack(self, topic: str, envelope_id: str) -> None:
        if not self.options.send_acks:
            return
        self._pending_acks.add(topic, envelope_id)  # under _lock

    def _maybe_flush_acks(self, *, force: bool = False) -> None:
        """Fsync what is written, then ack it; a failed fsync acks nothing and stops."""
        if not self.options.send_acks:
            return
        with self._lock:  # no line is written between the fsync and taking its ids
            if not self._pending_acks.due(force=force):
                return
            if self.failure is not None or not self._pending_acks:
                return
            try:
                self._out.sync()
            except OSError as exc:
                self._pending_acks.drop()
                self._fail(f"cannot write {self._out.name}: {exc.strerror or exc}")
                return
            pending = self._pending_acks.take()
        for ack_topic, ids in pending.items():
            self._clients[""].publish(ack_topic, json.dumps({"ids": ids}), qos=1)

    def run(self, should_stop: Callable[[], bool]) -> None:
        opts = self.options
        v5 = opts.protocol == mqtt.MQTTv5
        props = None
        if v5 and opts.persistent:
            props = connect_properties(7 * 86400)
        for client in self._clients.values():
            client.connect(
                opts.host,
                opts.port,
                keepalive=30,
                clean_start=not opts.persistent if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties=props,
            )
        for suffix, client in self._clients.items():
            thread = threading.Thread(
                target=self._network, args=(suffix, client), name=f"mqtt{suffix}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        try:
            while not should_stop() and self._running():
                time.sleep(ACK_PERIOD_S)
                self._maybe_flush_acks(force=True)
        finally:
            self._maybe_flush_acks(force=True)
            self._stopping = True
            for client in self._clients.values():
                client.disconnect()
            for thread in self._threads:
                thread.join(timeout=10)

    def _network(self, suffix: str, client: mqtt.Client) -> None:
        """Paho's network loop (it reconnects by itself) until ``disconnect``."""
        try:
            client.loop_forever()
        except BaseException as exc:  # any death must stop the process
            self._fail(f"network thread of {self.options.client_id}{suffix} died: {exc!r}")
        else:
            if not self._stopping:
                self._fail(f"network thread of {self.options.client_id}{suffix} ended")

    def _running(self) -> bool:
        return self.failure is None


def run_consumer(options: ConsumeOptions, *, count: int | None, duration_s: float | None) -> int:
    """Consume until SIGINT/SIGTERM, ``count`` unique envelopes or ``duration_s``; tally."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    deadline = None if duration_s is None else time.monotonic() + duration_s
    out = JsonLinesOutput(options.output)
    consumer = Consumer(options, out)
    if options.output:
        consumer.remember(options.output)

    def should_stop() -> bool:
        if count is not None and consumer.tally.unique >= count:
            return True
        return stop.is_set() or (deadline is not None and time.monotonic() > deadline)

    try:
        consumer.run(should_stop)
    finally:
        out.close()
    print(json.dumps({"summary": consumer.tally.summary()}), file=sys.stderr, flush=True)
    if consumer.failure is not None:
        print(
            f"wardlink consume: stopped: {consumer.failure}; what was not written was not "
            "acknowledged and stays at the broker",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0
