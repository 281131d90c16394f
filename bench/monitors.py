"""Bedside monitors: a 30-bed ward at 1 Hz against ``wardlink run``, with and without a backlog.

The ward (``tests.hardware_sim.monitor_ward``: one MLLP connection per bed, PCD-01 every second,
an alarm forced on the next bed every ``ALARM_EVERY_S``, and the PCD-04 ``end`` when it
recovers) runs in this process against a gateway running as a subprocess (one ``hl7-monitor``
device, ``forward = "every"``, durable store) and a real Mosquitto. A paho subscriber in this
process, with two QoS 1 sessions as the reference consumer has (alarms on their own), notes
``time.time()`` as each envelope arrives; envelopes are matched to the ward's sends by the raw
message's MSH-10, so latency is device (just before the MLLP frame is written) to consumer, the
MLLP ACK's durable commit included.

The gateway's CPU is ``utime + stime`` from ``/proc/<pid>/stat`` over the ward's run, as a share
of one core; RSS is ``VmRSS`` from ``/proc/<pid>/status``, sampled every 0.2 s (peak, and at the
end of the run).

With a backlog: 50,000 vital signs (the ward's own patients, raw HL7 included, as the gateway
stores them) are written into the store with the gateway's pipeline before it starts; the broker
is down for the ward's first seconds, then comes back and the backlog drains while the ward
keeps sending. Latency there counts messages sent once the gateway and the subscriber are both
back on the broker (earlier ones waited for the outage, not for the backlog), split by whether
the backlog was still draining when they were sent. New numerics queue behind the backlog (one
FIFO lane); alarms take the alarm lane. After the drain the store keeps the 50,000 delivered rows
(until retention or quota prunes them), as a ward node's store does after an outage.

The subscriber shares this process (and the GIL) with the ward, and the broker, the gateway and
this process share the machine's cores. Figures depend on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from edge_store import AsyncOutbox
from gateway.config_check import load_settings
from gateway.daemon import open_outbox
from gateway.metrics import Metrics
from gateway.pipeline import DeviceInfo, Pipeline
from gateway.status import StatusBoard
from gateway.topics import KIND_SEGMENTS, URGENT_KINDS, Topics
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.monitor import SimulatedBed
from tests.hardware_sim.monitor_ward import MonitorWard, Sent

DEVICE = "icu-monitors"
BEDS = 30
RATE_HZ = 1.0
DURATION_S = 30.0
BACKLOG = 50_000
ALARM_EVERY_S = 1.0
OUTAGE_S = 3.0
PREFILL_TAG = "PRE-"
AIM_CPU_PCT = 5.0
AIM_RSS_MIB = 70.0
AIM_NUMERICS_P99_MS = 50.0
AIM_ALARMS_P99_MS = 100.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


# -- the gateway process ----------------------------------------------------------------------
@dataclass
class Sample:
    at: float
    cpu_s: float
    rss_mib: float


def _sample(pid: int) -> Sample:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Sample(time.time(), cpu_s, rss_kib / 1024)


async def _watch(pid: int, samples: list[Sample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(_sample(pid))
        await asyncio.sleep(0.2)
    samples.append(_sample(pid))


def _cpu_pct(samples: list[Sample], start: float, end: float) -> float:
    window = [s for s in samples if start <= s.at <= end]
    if len(window) < 2:
        return float("nan")
    first, last = window[0], window[-1]
    return 100 * (last.cpu_s - first.cpu_s) / (last.at - first.at)


# -- the subscriber ---------------------------------------------------------------------------
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


# -- the backlog ------------------------------------------------------------------------------
async def _prefill(config: Path, ward: MonitorWard, events: int) -> float:
    """``events`` vital signs of the ward's patients in the store, as the gateway keeps them."""
    settings = load_settings(config)
    outbox = AsyncOutbox(open_outbox(settings, owner=True), max_batch=settings.store.max_batch)
    metrics = Metrics()
    pipeline = Pipeline(
        topics=Topics(
            settings.mqtt.topic_root,
            settings.gateway.site,
            settings.gateway.ward,
            settings.gateway.id,
        ),
        outbox=outbox,
        metrics=metrics,
        status=StatusBoard(metrics),
        devices={d.id: DeviceInfo(kind=d.kind, encoding=d.encoding) for d in settings.devices},
    )
    await pipeline.start()
    pool = []
    for n, admission in enumerate(ward.admissions.values()):
        bed = SimulatedBed(
            admission.bed,
            admission.patient_id,
            admission.xpn,
            random.Random(n),
            etco2=True,
            nibp_every=300,
            point_of_care=admission.point_of_care,
            control_prefix=PREFILL_TAG,
        )
        for _ in range(10):
            bed.step()
            raw = bed.vitals()
            pool += [(event, raw) for event in monitor_events_from_hl7(parse_message(raw))]
    started = time.perf_counter()
    for start in range(0, events, 1000):
        await asyncio.gather(
            *(
                pipeline.submit_many(DEVICE, [pool[i % len(pool)][0]], raw=pool[i % len(pool)][1])
                for i in range(start, min(events, start + 1000))
            )
        )
    elapsed = time.perf_counter() - started
    await outbox.close()
    return elapsed


# -- one run ----------------------------------------------------------------------------------
@dataclass
class Latencies:
    numerics: list[float] = field(default_factory=list)
    alarms: list[float] = field(default_factory=list)
    alarm_acks: list[float] = field(default_factory=list)
    """The alarms' MLLP ACK: device to durable commit, the first part of their latency."""


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


async def _run(work: Path, backlog: int) -> RunResult:
    work.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(work / "broker", persistence=True)
    broker.start()
    subscriber = Subscriber(broker)
    subscriber.start()
    await _until(lambda: subscriber.subscribed >= 2, "the subscriber's SUBACKs")
    port = free_port()
    config = _config(work, port, broker)
    tag = "B-" if backlog else "Q-"
    ward = MonitorWard(BEDS, seed=2026, rate_hz=RATE_HZ, control_prefix=tag)
    prefill_s = None
    if backlog:
        broker.stop()  # the uplink is down; the subscriber's sessions stay on the broker's disk
        prefill_s = await _prefill(config, ward, backlog)
    log = (work / "gateway.log").open("wb")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)], stderr=log
    )
    samples: list[Sample] = []
    stop_watch = asyncio.Event()
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 30)
        if not backlog:
            await _until(lambda: bool(subscriber.online_at), "the gateway on the broker")
        watcher = asyncio.create_task(_watch(gateway.pid, samples, stop_watch))
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
        deadline = time.monotonic() + 60
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
    finally:
        gateway.send_signal(signal.SIGTERM)
        await asyncio.to_thread(gateway.wait, 60)
        log.close()
        subscriber.stop()
        broker.stop()
    sent = ward.acked()
    ready = subscriber.ready_since(broker_up) if backlog else run_started
    result = RunResult(
        cpu_pct=_cpu_pct(samples, run_started, run_ended),
        rss_peak_mib=max(s.rss_mib for s in samples),
        rss_end_mib=samples[-1].rss_mib,
        ack=ward.ack_latencies(),
        latency=_latencies(sent, arrived, ready or run_ended, run_ended),
        missing=len(expected - arrived.keys()),
        failures=len(ward.failures),
        sent=len(ward.sent),
        prefill_s=prefill_s,
    )
    if backlog and drain_end is not None and ready is not None:
        result.drain_s = drain_end - broker_up
        result.drain_cpu_pct = _cpu_pct(samples, broker_up, min(drain_end, run_ended))
        result.after_drain_cpu_pct = _cpu_pct(samples, drain_end, run_ended)
        result.during_drain = _latencies(sent, arrived, ready, drain_end)
        result.after_drain = _latencies(sent, arrived, drain_end, run_ended)
    return result


async def _until(predicate: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what}"
            raise TimeoutError(msg)
        await asyncio.sleep(0.05)


def _latencies(sent: list[Sent], arrived: dict[str, float], start: float, end: float) -> Latencies:
    found = Latencies()
    for s in sent:
        if start <= s.sent_at <= end and s.control_id in arrived:
            target = found.alarms if s.kind == "alarm" else found.numerics
            target.append(arrived[s.control_id] - s.sent_at)
            if s.kind == "alarm" and s.acked_at is not None:
                found.alarm_acks.append(s.acked_at - s.sent_at)
    return found


# -- rows -------------------------------------------------------------------------------------
def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    p50, p99 = _pct(values, 50), _pct(values, 99)
    if p99 >= 1.0:
        return f"{p50:.2f} / {p99:.2f} s (n={len(values)})"
    return f"{p50 * 1e3:.1f} / {p99 * 1e3:.1f} ms (n={len(values)})"


def _aim(text: str, ok: bool) -> str:
    """A row name with its aim and whether this run met it."""
    return f"{text}: {'met' if ok else 'NOT MET'}"


def monitor_rows(work: Path) -> list[tuple[str, str]]:
    quiet = asyncio.run(_run(work / "ward-quiet", 0))
    busy = asyncio.run(_run(work / "ward-backlog", BACKLOG))
    head = f"monitor ward {BEDS} beds @ {RATE_HZ:g} Hz, {DURATION_S:.0f} s"
    numerics_p99 = _pct(quiet.latency.numerics, 99) * 1e3
    alarms_p99 = _pct(busy.during_drain.alarms, 99) * 1e3
    return [
        (
            _aim(f"{head}: gateway CPU (aim <= {AIM_CPU_PCT:g} %)", quiet.cpu_pct <= AIM_CPU_PCT),
            f"{quiet.cpu_pct:.1f} % of a core",
        ),
        (
            _aim(
                f"  gateway RSS peak / end (aim <= {AIM_RSS_MIB:g} MiB)",
                quiet.rss_peak_mib <= AIM_RSS_MIB,
            ),
            f"{quiet.rss_peak_mib:.1f} / {quiet.rss_end_mib:.1f} MiB",
        ),
        (
            _aim(
                f"  numerics device->consumer p50 / p99 (aim p99 <= {AIM_NUMERICS_P99_MS:g} ms)",
                numerics_p99 <= AIM_NUMERICS_P99_MS,
            ),
            _ms(quiet.latency.numerics),
        ),
        ("  alarms device->consumer p50 / p99", _ms(quiet.latency.alarms)),
        ("  MLLP ACK (durable commit) p50 / p99", _ms(quiet.ack)),
        (
            "  messages sent / lost / not ACKed",
            f"{quiet.sent} / {quiet.missing} / {quiet.failures}",
        ),
        (
            f"{head}, {BACKLOG:,} vital signs queued: prefill",
            f"{busy.prefill_s:.1f} s" if busy.prefill_s else "-",
        ),
        (
            "  backlog drained after the broker came back",
            f"{busy.drain_s:.1f} s ({BACKLOG / busy.drain_s:,.0f}/s)"
            if busy.drain_s
            else "did not drain",
        ),
        (
            "  gateway CPU over the run / draining / after",
            _percents(busy.cpu_pct, busy.drain_cpu_pct, busy.after_drain_cpu_pct),
        ),
        (
            _aim(
                f"  gateway RSS peak / end (aim <= {AIM_RSS_MIB:g} MiB)",
                busy.rss_peak_mib <= AIM_RSS_MIB,
            ),
            f"{busy.rss_peak_mib:.1f} / {busy.rss_end_mib:.1f} MiB",
        ),
        (
            _aim(
                f"  alarms while draining p50 / p99 (aim p99 <= {AIM_ALARMS_P99_MS:g} ms)",
                alarms_p99 <= AIM_ALARMS_P99_MS,
            ),
            _ms(busy.during_drain.alarms),
        ),
        ("    of which device -> MLLP ACK (durable)", _ms(busy.during_drain.alarm_acks)),
        ("  numerics while draining (queued behind it)", _ms(busy.during_drain.numerics)),
        ("  alarms after the drain p50 / p99", _ms(busy.after_drain.alarms)),
        ("  numerics after the drain p50 / p99", _ms(busy.after_drain.numerics)),
        ("  MLLP ACK (durable commit) p50 / p99", _ms(busy.ack)),
        ("  messages sent / lost / not ACKed", f"{busy.sent} / {busy.missing} / {busy.failures}"),
    ]


def _percents(*values: float | None) -> str:
    return " / ".join("-" if v is None else f"{v:.1f}" for v in values) + " %"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wardlink-bench-") as tmp:
        rows = monitor_rows(Path(tmp))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"| {name:<{width}} | {value:>30} |")


if __name__ == "__main__":
    main()
