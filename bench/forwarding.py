"""Forwarding throughput: store → Mosquitto → consumer, next to raw paho as the ceiling."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.intake import TOPICS, make_pipeline, sample_event
from edge_store import AsyncOutbox, Outbox
from gateway.forwarding.broker_connection import ForwarderConfig
from gateway.forwarding.forwarder import Forwarder
from gateway.metrics import Metrics
from gateway.status import StatusBoard
from tests.hardware_sim.broker import Mosquitto


@dataclass
class ForwardResult:
    to_broker: float
    to_consumer: float
    payload_size: int


async def bench_store_to_consumer(work: Path, broker: Mosquitto, events: int) -> ForwardResult:
    outbox = AsyncOutbox(Outbox(work / "outbox.db"))
    pipeline = make_pipeline(outbox, devices=1)
    await pipeline.start()
    for start in range(0, events, 1000):
        await asyncio.gather(
            *(
                pipeline.submit("analyzer-0", sample_event(i))
                for i in range(start, min(events, start + 1000))
            )
        )
    payload_size = len((await outbox.claim(1, limit=1))[0].payload)
    err = work / "consumer.stderr"
    with err.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        consumer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "consume",
                "--broker",
                f"mqtt://{broker.host}:{broker.port}",
                "--clean",
                "--out",
                "/dev/null",
                "--count",
                str(events),
            ],
            stderr=stderr,
        )
    while "consuming" not in err.read_text():
        if consumer.poll() is not None:  # fail loudly, never wait for a consumer that died
            raise RuntimeError(f"the bench's consumer exited: {err.read_text()[-800:]}")
        await asyncio.sleep(0.05)
    metrics = Metrics()
    forwarder = Forwarder(
        ForwarderConfig(host=broker.host, port=broker.port, client_id="bench-gw"),
        TOPICS,
        outbox,
        metrics,
        StatusBoard(metrics),
    )
    started = time.perf_counter()
    task = asyncio.create_task(forwarder.run())
    labels = {"device": "analyzer-0", "kind": "lab"}
    while (
        metrics.registry.get_sample_value("wardlink_forward_messages_total", labels) or 0
    ) < events:
        await asyncio.sleep(0.005)
    to_broker = time.perf_counter() - started
    while consumer.poll() is None:
        await asyncio.sleep(0.005)
    to_consumer = time.perf_counter() - started
    forwarder.stop()
    await task
    await outbox.close()
    return ForwardResult(events / to_broker, events / to_consumer, payload_size)


def bench_paho_ceiling(broker: Mosquitto, events: int, payload_size: int) -> float:
    """Raw paho QoS 1 publishing with the forwarder's window, until every PUBACK is in."""
    done = threading.Event()
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == events:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(64)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(broker.host, broker.port)
    client.loop_start()
    payload = b"x" * payload_size
    started = time.perf_counter()
    for _ in range(events):
        client.publish("bench/paho", payload, qos=1)
    done.wait(300)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return events / elapsed
