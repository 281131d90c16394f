"""The reference central consumer: subscribe, validate, de-duplicate, write JSON lines, ack.

Ops use it to watch a ward; tests use it as the receiving side. It PUBACKs a message only after
its line is written (paho's manual ack) and, with ``--ack``, confirms envelope ids on the
gateway's ack topic so the gateway may consider them delivered end to end.
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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

import fastjsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.broker_input import SIGNATURE_PROPERTY, nesting_exceeds, reply_signature
from gateway.envelope_validation import EnvelopeValidator
from gateway.mqtt_properties import DIGEST_PROPERTY, connect_properties
from gateway.order_book import OrderBook
from gateway.sequences import SequenceTracker
from gateway.topics import KIND_SEGMENTS, URGENT_KINDS

log = logging.getLogger("wardlink.consume")

_ACK_BATCH = 500
_MAX_ENVELOPE_DEPTH = 32
"""An envelope nests about 6 deep; deeper is hostile, and json.loads would recurse on it."""
_ACK_PERIOD_S = 0.05


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
    """Answer host queries from this order file (:mod:`gateway.order_book`)."""
    reply_key: bytes | None = None
    """Sign query replies with this shared key (the gateways' ``query_reply_key_file``)."""


@dataclass
class Tally:
    """What the consumer saw; duplicates and gaps are reported, never hidden."""

    received: int = 0
    unique: int = 0
    duplicates: int = 0
    invalid: int = 0
    digest_mismatches: int = 0
    digests_verified: int = 0
    sequences: SequenceTracker = field(default_factory=SequenceTracker)

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "digest_mismatches": self.digest_mismatches,
            "digests_verified": self.digests_verified,
            "sequence_gaps": self.sequences.gaps(),
            "sequence_late": dict(self.sequences.late),
        }


class Consumer:
    def __init__(self, options: ConsumeOptions, out: IO[str]) -> None:
        self.options = options
        self.tally = Tally()
        self._out = out
        self._seen: set[str] = set()
        self._validate = EnvelopeValidator()
        self._pending_acks: dict[str, list[str]] = {}
        self._last_ack_flush = time.monotonic()
        self._lock = threading.Lock()  # two network threads share the tally and output
        self._ack_lock = threading.Lock()
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

    def set_output(self, out: IO[str]) -> None:
        self._out = out

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

    def subscriptions(self) -> list[str]:
        base = f"{self.options.topic_root}/{self.options.gateway_filter}"
        return [f"{base}/{segment}/+" for segment in KIND_SEGMENTS.values()]

    def _on_connect(
        self, topics: list[str], client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None
    ) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        client.subscribe([(topic, 1) for topic in topics])
        log.info("consuming %s", ", ".join(topics))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.handle(message.topic, bytes(message.payload), _digest_property(message))
        client.ack(message.mid, message.qos)
        self._maybe_flush_acks()

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
        self._queue_ack(topic, envelope_id)
        if envelope_id in self._seen:
            tally.duplicates += 1
            return
        self._seen.add(envelope_id)
        tally.unique += 1
        tally.sequences.see(f"{envelope['gateway_id']}/{envelope['device_id']}", envelope["seq"])
        if self._orders is not None and envelope["payload"]["kind"] == "order_query":
            self._answer(topic, envelope["payload"])
        # Written as the bytes that arrived: compact JSON on one line, byte-faithful for audit.
        line = _pretty(envelope) if self.options.pretty else payload.decode()
        self._out.write(line + "\n")
        self._out.flush()

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
        base = topic.rsplit("/", 2)[0]
        with self._ack_lock:
            self._pending_acks.setdefault(f"{base}/ack", []).append(envelope_id)

    def _maybe_flush_acks(self, *, force: bool = False) -> None:
        if not self.options.send_acks:
            return
        with self._ack_lock:
            due = force or time.monotonic() - self._last_ack_flush >= _ACK_PERIOD_S
            if not due and sum(map(len, self._pending_acks.values())) < _ACK_BATCH:
                return
            pending, self._pending_acks = self._pending_acks, {}
            self._last_ack_flush = time.monotonic()
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
            client.loop_start()
        try:
            while not should_stop():
                time.sleep(_ACK_PERIOD_S)
                self._maybe_flush_acks(force=True)
        finally:
            self._maybe_flush_acks(force=True)
            for client in self._clients.values():
                client.disconnect()
                client.loop_stop()


def _digest_property(message: mqtt.MQTTMessage) -> str | None:
    props = getattr(message, "properties", None)
    for key, value in getattr(props, "UserProperty", None) or []:
        if key == DIGEST_PROPERTY:
            return str(value)
    return None


def _pretty(envelope: dict[str, Any]) -> str:
    """One human line per event: codes and values, never patient names."""
    payload = envelope["payload"]
    head = f"{envelope['received_at'][11:23]} {envelope['device_id']:<16} #{envelope['seq']:<5}"
    kind = payload["kind"]
    if kind in ("lab_result", "vital_signs"):
        parts = [
            f"{(o.get('code') or o['local_code'])['code']}={o.get('value')} {o.get('unit') or ''}"
            for o in payload["observations"]
        ]
        return f"{head} {kind:<14} " + " ".join(parts)
    if kind == "identification":
        # Specimen labels and product codes are shown; a person's card is not (PHI).
        fields = {k: v for k, v in payload.get("fields", {}).items() if k != "aim_id"}
        if payload.get("person"):
            shown = "person card"
        elif fields:
            shown = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
        else:
            shown = payload["data"][:40]
        return f"{head} {kind:<14} {payload.get('symbology') or 'barcode':<8} {shown}"
    if kind == "alarm":
        return f"{head} {kind:<14} {payload['priority']} {payload['state']} {payload['text']}"
    if kind == "order_query":
        return f"{head} {kind:<14} specimens {' '.join(payload['specimen_ids'])}"
    return f"{head} {kind}"


def run_consumer(options: ConsumeOptions, *, count: int | None, duration_s: float | None) -> int:
    """Consume until SIGINT/SIGTERM, ``count`` unique envelopes or ``duration_s``; tally."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    deadline = None if duration_s is None else time.monotonic() + duration_s
    consumer = Consumer(options, sys.stdout)
    if options.output:
        consumer.remember(options.output)
    out = options.output.open("a", encoding="utf-8") if options.output else sys.stdout
    consumer.set_output(out)

    def should_stop() -> bool:
        if count is not None and consumer.tally.unique >= count:
            return True
        return stop.is_set() or (deadline is not None and time.monotonic() > deadline)

    try:
        consumer.run(should_stop)
    finally:
        if options.output:
            out.close()
    print(json.dumps({"summary": consumer.tally.summary()}), file=sys.stderr, flush=True)
    return 0
