"""One monitor-ward run against a gateway process, quiet or with a backlog behind a broker outage.

Starts a persistent Mosquitto and the subscriber, writes the gateway's config (one
``hl7-monitor`` device, ``forward = "every"``, durable store), optionally prefills the store with
the broker down, starts ``wardlink run`` as a subprocess, drives the ward for ``DURATION_S``
while sampling the gateway, then waits for every ACKed message at the consumer and turns the
arrivals into a :class:`RunResult`.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.monitor_backlog import prefill
from bench.monitor_sampling import Sample, cpu_pct, watch
from bench.monitor_subscriber import Latencies, Subscriber, await_arrivals, latencies
from tests.e2e.harness import async_wait_for
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.monitor_ward import MonitorWard

DEVICE = "icu-monitors"
BEDS = 30
RATE_HZ = 1.0
DURATION_S = 30.0
ALARM_EVERY_S = 1.0
OUTAGE_S = 3.0


def _config(work: Path, port: int, broker: Mosquitto) -> Path:
    config = work / "wardlink.toml"
    config.write_text(
        'config_version = 1\n[gateway]\nsite = "bench"\nward = "icu"\nid = "gw-bench"\n'
        f'[mqtt]\nurl = "{broker.url}"\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n'
        f'[store]\npath = "{work / "outbox.db"}"\n'
        f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[[devices]]\nid = "{DEVICE}"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\nforward = "every"\n'
    )
    return config


@dataclass
class RunResult:
    cpu_pct: float
    rss_peak_mib: float
    rss_end_mib: float
    ack: list[float]
    latency: Latencies
    missing: int
    failures: int
    sent: int
    drain_s: float | None = None
    drain_cpu_pct: float | None = None
    after_drain_cpu_pct: float | None = None
    during_drain: Latencies = field(default_factory=Latencies)
    after_drain: Latencies = field(default_factory=Latencies)
    prefill_s: float | None = None


async def run_ward(work: Path, backlog: int) -> RunResult:
    """One ward run; ``backlog`` vital signs queued behind a broker outage, or none."""
    work.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(work / "broker", persistence=True)
    broker.start()
    subscriber = Subscriber(broker)
    subscriber.start()
    await async_wait_for(lambda: subscriber.subscribed >= 2, 30, "the subscriber's SUBACKs")
    port = free_port()
    config = _config(work, port, broker)
    tag = "B-" if backlog else "Q-"
    ward = MonitorWard(BEDS, seed=2026, rate_hz=RATE_HZ, control_prefix=tag)
    prefill_s = None
    if backlog:
        broker.stop()  # the uplink is down; the subscriber's sessions stay on the broker's disk
        prefill_s = await prefill(config, DEVICE, ward, backlog)
    log = (work / "gateway.log").open("wb")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)], stderr=log
    )
    samples: list[Sample] = []
    stop_watch = asyncio.Event()
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 30)
        if not backlog:
            await async_wait_for(lambda: bool(subscriber.online_at), 30, "the gateway on broker")
        watcher = asyncio.create_task(watch(gateway.pid, samples, stop_watch))
        async with ward:
            await ward.connect("127.0.0.1", port)
            run_started = time.time()
            running = asyncio.create_task(
                ward.run(duration_s=DURATION_S, alarm_every_s=ALARM_EVERY_S)
            )
            broker_up = run_started
            if backlog:
                await asyncio.sleep(OUTAGE_S)
                broker_up = time.time()
                await asyncio.to_thread(broker.start)
            await running
            run_ended = time.time()
            stop_watch.set()
            await watcher
        expected = {s.control_id for s in ward.acked()}
        arrived, drain_end = await await_arrivals(subscriber, expected)
    finally:
        gateway.send_signal(signal.SIGTERM)
        await asyncio.to_thread(gateway.wait, 60)
        log.close()
        subscriber.stop()
        broker.stop()
    sent = ward.acked()
    ready = subscriber.ready_since(broker_up) if backlog else run_started
    result = RunResult(
        cpu_pct=cpu_pct(samples, run_started, run_ended),
        rss_peak_mib=max(s.rss_mib for s in samples),
        rss_end_mib=samples[-1].rss_mib,
        ack=ward.ack_latencies(),
        latency=latencies(sent, arrived, ready or run_ended, run_ended),
        missing=len(expected - arrived.keys()),
        failures=len(ward.failures),
        sent=len(ward.sent),
        prefill_s=prefill_s,
    )
    if backlog and drain_end is not None and ready is not None:
        result.drain_s = drain_end - broker_up
        result.drain_cpu_pct = cpu_pct(samples, broker_up, min(drain_end, run_ended))
        result.after_drain_cpu_pct = cpu_pct(samples, drain_end, run_ended)
        result.during_drain = latencies(sent, arrived, ready, drain_end)
        result.after_drain = latencies(sent, arrived, drain_end, run_ended)
    return result
