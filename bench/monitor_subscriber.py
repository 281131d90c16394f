"""The monitor bench's consumer: when each envelope arrived, matched to the ward's sends.

A paho subscriber with two persistent QoS 1 sessions, as the reference consumer has (alarms on
their own), notes ``time.time()`` as each envelope arrives. Envelopes are matched to the ward's
sends by the raw message's MSH-10, so a latency runs from the device (just before the MLLP frame
is written) to the consumer; backlog envelopes (``PREFILL_TAG``) only mark when it drained.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.monitor_backlog import PREFILL_TAG
from gateway.forwarding.topics import KIND_SEGMENTS, URGENT_KINDS
from tests.hardware_sim.broker import Mosquitto
from tests.hardware_sim.monitor_ward import Sent


@dataclass
class Subscriber:
    """Two persistent QoS 1 sessions (normal, alarm) noting when each envelope arrives."""

    broker: Mosquitto
    arrivals: list[tuple[float, bytes]] = field(default_factory=list)
    online_at: list[float] = field(default_factory=list)
    connected_at: dict[str, list[float]] = field(default_factory=dict)
    subscribed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: list[mqtt.Client] = field(default_factory=list)

    def start(self) -> None:
        urgent = [KIND_SEGMENTS[k] for k in sorted(URGENT_KINDS)]
        normal = [s for s in KIND_SEGMENTS.values() if s not in urgent]
        base = "wardlink/+/+/+"
        for name, segments in (("", normal), ("-alarm", urgent)):
            topics = [f"{base}/{s}/+" for s in segments]
            if not name:
                topics.append(f"{base}/status")
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=f"bench-centre{name}",
                protocol=mqtt.MQTTv5,
            )
            client.reconnect_delay_set(min_delay=1, max_delay=1)
            client.on_connect = self._on_connect(name, topics)
            client.on_subscribe = self._on_subscribe
            client.on_message = self._on_message
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
            client.connect(
                self.broker.host, self.broker.port, clean_start=False, properties=properties
            )
            client.loop_start()
            self._clients.append(client)

    def _on_connect(self, name: str, topics: list[str]) -> Any:
        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe([(topic, 1) for topic in topics])
            with self._lock:
                self.connected_at.setdefault(name, []).append(time.time())

        return on_connect

    def _on_subscribe(self, *_: Any) -> None:
        with self._lock:
            self.subscribed += 1

    def _on_message(self, _client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time()
        if message.topic.endswith("/status"):
            if b'"online"' in message.payload:
                self.online_at.append(now)
            return
        with self._lock:
            self.arrivals.append((now, bytes(message.payload)))

    def ready_since(self, after: float) -> float | None:
        """When both sessions and the gateway were back on the broker after ``after``."""
        with self._lock:
            times = [
                next((t for t in self.connected_at.get(name, []) if t >= after), None)
                for name in ("", "-alarm")
            ]
            times.append(next((t for t in self.online_at if t >= after), None))
        return None if None in times else max(t for t in times if t is not None)

    def arrivals_from(self, start: int) -> list[tuple[float, bytes]]:
        with self._lock:
            return self.arrivals[start:]

    def stop(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()


def _msh10(envelope: dict[str, Any]) -> str | None:
    raw = envelope.get("raw")
    if not raw:
        return None
    fields = str(raw["data"]).split("\r", 1)[0].split("|")
    return fields[9] if len(fields) > 9 else None


async def await_arrivals(
    subscriber: Subscriber, expected: set[str], timeout_s: float = 60.0
) -> tuple[dict[str, float], float | None]:
    """Each expected control id's first arrival, and when the last backlog envelope arrived."""
    deadline = time.monotonic() + timeout_s
    arrived: dict[str, float] = {}
    drain_end = None
    seen = 0
    while time.monotonic() < deadline:
        batch = subscriber.arrivals_from(seen)
        seen += len(batch)
        for at, payload in batch:
            control_id = _msh10(json.loads(payload))
            if control_id is None:
                continue
            if control_id.startswith(PREFILL_TAG):
                drain_end = at if drain_end is None else max(drain_end, at)
            else:
                arrived.setdefault(control_id, at)
        if expected <= arrived.keys():
            break
        await asyncio.sleep(0.2)
    return arrived, drain_end


@dataclass
class Latencies:
    numerics: list[float] = field(default_factory=list)
    alarms: list[float] = field(default_factory=list)
    alarm_acks: list[float] = field(default_factory=list)
    """The alarms' MLLP ACK: device to durable commit, the first part of their latency."""


def latencies(sent: list[Sent], arrived: dict[str, float], start: float, end: float) -> Latencies:
    found = Latencies()
    for s in sent:
        if start <= s.sent_at <= end and s.control_id in arrived:
            target = found.alarms if s.kind == "alarm" else found.numerics
            target.append(arrived[s.control_id] - s.sent_at)
            if s.kind == "alarm" and s.acked_at is not None:
                found.alarm_acks.append(s.acked_at - s.sent_at)
    return found
