"""Acceptance 5: a bounded soak of a simulated ward under seeded random faults.

The gateway runs as its own process with an ASTM analyzer streaming specimens and six bedside
monitors sending PCD-01 at 2 Hz (plus alarms), while a fault proxy between the gateway and the
broker adds latency, cuts the link (RST or FIN) or swallows it (half-open) on a seeded
schedule. The gateway's RSS and open file descriptors are sampled once a second; after the
warm-up they must stay flat, and at the end every message a device was acknowledged for must
have reached the consumer. ``WARDLINK_SOAK_S`` sets the length: 90 s in ``make test``,
600 s in ``make soak``.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.fault_proxy import FaultProxy
from tests.hardware_sim.monitor_ward import MonitorWard
from tests.reliability.accounting import account, specimen_key
from tests.reliability.kill_harness import (
    ANALYZER,
    GatewayProcess,
    StreamingAnalyzer,
    analyzer_device,
)

SOAK_S = float(os.environ.get("WARDLINK_SOAK_S", "90"))
SEED = 20261123
MONITORS = "ward-monitors"
RSS_GROWTH_LIMIT_MIB = 5.0
FD_DRIFT_LIMIT = 4
"""Connections come and go with the faults; a leak grows without bound, this does not."""


def monitors_device(port: int) -> str:
    return (
        f'[[devices]]\nid = "{MONITORS}"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\nforward = "every"\n'
    )


def control_id(envelope: dict[str, Any]) -> str | None:
    """MSH-10 of the HL7 message an envelope came from (its raw text)."""
    raw = envelope.get("raw") or {}
    if envelope["device_id"] != MONITORS or raw.get("encoding") != "text":
        return None
    fields = raw["data"].split("\r", 1)[0].split("|")
    return fields[9] if len(fields) > 9 else None


def key_of(envelope: dict[str, Any]) -> str | None:
    return specimen_key(envelope) if envelope["device_id"] == ANALYZER else control_id(envelope)


def resources(pid: int) -> tuple[float, int]:
    """RSS in MiB and the number of open file descriptors of ``pid``."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd"))


async def inject_faults(proxy: FaultProxy, rng: random.Random, until: float) -> list[str]:
    """A seeded schedule: every 6-12 s one fault for 2-5 s, then healed."""
    applied = []
    while time.monotonic() + 15 < until:
        await asyncio.sleep(rng.uniform(6, 12))
        fault = rng.choice(["latency", "cut-rst", "cut-fin", "half-open"])
        applied.append(fault)
        if fault == "latency":
            proxy.latency(rng.uniform(0.05, 0.3))
        elif fault == "half-open":
            proxy.set_blackhole(True)
        else:
            proxy.cut(reset=fault == "cut-rst")
        await asyncio.sleep(rng.uniform(2, 5))
        await proxy.heal()
    return applied


async def test_soak_ward_under_random_faults_stays_flat_and_loses_nothing(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    rng = random.Random(SEED)
    astm_port, hl7_port = free_port(), free_port()
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with FaultProxy(0, "127.0.0.1", mosquitto.port) as proxy:
        config = write_config(
            tmp_path / "gw",
            f"mqtt://127.0.0.1:{proxy.port}",
            mqtt={"keepalive_s": 5},
            devices=analyzer_device(astm_port) + monitors_device(hl7_port),
        )
        with GatewayProcess(config, tmp_path / "gateway.log") as gateway:
            gateway.start()
            await asyncio.to_thread(gateway.wait_up)
            analyzer = StreamingAnalyzer("127.0.0.1", astm_port, pace_s=0.2).start(10**6)
            ward = MonitorWard(n_beds=6, seed=SEED, rate_hz=2.0)
            await asyncio.to_thread(wait_for_port, "127.0.0.1", hl7_port)
            await ward.connect("127.0.0.1", hl7_port)
            end = time.monotonic() + SOAK_S
            beds = asyncio.create_task(ward.run(duration_s=SOAK_S, alarm_every_s=7.0))
            faults = asyncio.create_task(inject_faults(proxy, rng, end))
            samples: list[tuple[float, float, int]] = []
            while time.monotonic() < end:
                samples.append((time.monotonic(), *resources(gateway.pid)))
                await asyncio.sleep(1.0)
            applied = await faults
            await proxy.heal()
            await beds
            await ward.close()
            await analyzer.stop()
            acked = {
                ANALYZER: set(analyzer.acked),
                MONITORS: {sent.control_id for sent in ward.acked()},
            }
            wanted = set().union(*acked.values())
            await async_wait_for(
                lambda: wanted <= {key_of(e) for e in consumer.envelopes()},
                120,
                "every acknowledged message at the consumer",
            )
            assert await asyncio.to_thread(gateway.stop) == 0, gateway.log_tail()
    summary = consumer.stop()
    result = account(acked, consumer.envelopes(), key_of)
    warm = [s for s in samples if s[0] >= samples[0][0] + SOAK_S / 3]
    rss_start = statistics.median(s[1] for s in warm[:5])
    rss_end = statistics.median(s[1] for s in warm[-5:])
    fds = [s[2] for s in warm]
    print(
        f"\nsoak {SOAK_S:.0f} s, faults {applied}: {result.report()}; RSS after warm-up "
        f"{rss_start:.1f} -> {rss_end:.1f} MiB (peak {max(s[1] for s in samples):.1f}); "
        f"fds {fds[0]} -> {fds[-1]} (range {min(fds)}-{max(fds)}); "
        f"analyzer {analyzer.summary()}; monitor failures {len(ward.failures)}"
    )
    assert len(applied) >= SOAK_S // 20
    assert result.lost_total == 0, result.lost
    assert summary["invalid"] == summary["digest_mismatches"] == 0
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_MIB
    assert fds[-1] - fds[0] <= FD_DRIFT_LIMIT
    assert len(analyzer.acked) > 0
    assert len(acked[MONITORS]) > 0
