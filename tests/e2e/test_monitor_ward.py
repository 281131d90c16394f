"""Acceptance (issue 6): a ward of 30 bedside monitors, end to end, and its alarms first.

The ward simulator (``tests.hardware_sim.monitor_ward``) opens one MLLP connection per bed to one
``hl7-monitor`` device; what it recorded as ACKed is compared with what the reference consumer
(a separate process, behind a real Mosquitto) wrote, matched by the raw message's MSH-10.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.canonical.events import VitalSigns
from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import (
    ConsumerProcess,
    GrowingJsonLines,
    async_wait_for,
    central_offline,
    write_config,
)
from tests.e2e.test_hl7_analyzer import running_gateway
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.monitor import (
    EPISODIC,
    HR,
    METRICS,
    NIBP_DIA,
    NIBP_MEAN,
    NIBP_SYS,
    RR,
    SPO2,
    SimulatedBed,
    control_id_of,
)
from tests.hardware_sim.monitor_ward import MonitorWard

DEVICE = "icu-monitors"
BEDS = 30
BACKLOG = 50_000
NIBP = {n.code for n in EPISODIC}


def monitor_device(port: int) -> str:
    return (
        f'[[devices]]\nid = "{DEVICE}"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\nforward = "every"\n'
    )


class Arrivals(GrowingJsonLines):
    """The consumer's output read as it grows, in arrival order."""

    def position(self, control_id: str) -> int | None:
        """Where the envelope of the message with this MSH-10 arrived (``None``: not yet)."""
        return next(
            (n for n, e in enumerate(self.poll()) if msh10(e) == control_id),
            None,
        )


def msh10(envelope: dict[str, Any]) -> str | None:
    raw = envelope.get("raw")
    return control_id_of(raw["data"].encode()) if raw else None


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_bed_physiology_is_bounded_time_varying_and_coupled() -> None:
    bed = SimulatedBed("bed-01", "BN1", "Lê^Lan^Ngọc", random.Random(3), etco2=True, nibp_every=60)
    shown: dict[str, set[float]] = {code: set() for code in METRICS}
    for _ in range(600):
        bed.step()
        for code in bed.values:
            value = bed.shown(code)
            assert METRICS[code].low <= value <= METRICS[code].high
            shown[code].add(value)
        assert bed.values[NIBP_DIA] < bed.values[NIBP_MEAN] < bed.values[NIBP_SYS]
    assert all(len(values) >= 3 for code, values in shown.items() if code not in NIBP)
    assert len(shown[NIBP_SYS]) > 5  # a new cuff reading every 60 steps
    # Twins draw the same noise; one desaturates: its heart and breathing speed up, its EtCO2
    # falls, and its SpO2 climbs back gradually.
    twin, hypoxic = (SimulatedBed("bed-02", "BN2", "Võ^Hùng^Văn", random.Random(4)) for _ in "ab")
    hypoxic.force(SPO2, 80.0)
    (alarm,) = hypoxic.alarms()
    assert b"SpO2 LOW" in alarm
    gaps = []
    for _ in range(20):
        twin.step()
        hypoxic.step()
        gaps.append({code: hypoxic.values[code] - twin.values[code] for code in (HR, RR, SPO2)})
    assert sum(g[HR] for g in gaps[5:]) / 15 > 5
    assert sum(g[RR] for g in gaps[5:]) / 15 > 1
    assert all(g[SPO2] < 0 for g in gaps)
    assert gaps[-1][SPO2] > gaps[0][SPO2]
    assert twin.alarms() == []
    (alarm,) = hypoxic.alarms()  # recovered: the alarm ends
    assert b"SpO2 OK" in alarm


async def test_thirty_beds_every_numeric_arrives_coded_with_bed_and_patient(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    ward = MonitorWard(BEDS, seed=6, rate_hz=8.0, nibp_every=5)
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with running_gateway(tmp_path, mosquitto, monitor_device(port)):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        async with ward:
            await ward.connect("127.0.0.1", port)
            await ward.run(ticks=12)
            forced = [
                *await ward.force_alarm("bed-03"),
                *await ward.force_alarm("bed-17"),
                *await ward.force_alarm("bed-29", HR),
            ]
        acked = ward.acked()
        await async_wait_for(lambda: len(consumer.ids()) >= len(acked), 30, "every ACKed message")
    summary = consumer.stop()

    assert ward.failures == []
    assert len(ward.acked("vitals")) == BEDS * 12
    envelopes = consumer.envelopes()
    by_control_id = {msh10(e): e for e in envelopes}
    # One envelope per ACKed message, each once; nothing the ward did not send.
    assert set(by_control_id) == {s.control_id for s in acked}
    assert len(envelopes) == len(acked)
    assert summary["unique"] == len(acked)
    assert (summary["duplicates"], summary["invalid"], summary["digest_mismatches"]) == (0, 0, 0)
    assert summary["sequence_gaps"] == {}

    admissions = ward.admissions
    numerics: dict[str, Counter[str]] = {bed: Counter() for bed in admissions}
    alarms: Counter[str] = Counter()
    for sent in acked:
        envelope = by_control_id[sent.control_id]
        payload = envelope["payload"]
        admission = admissions[sent.bed]
        assert envelope["device_id"] == DEVICE
        assert payload["kind"] == {"vitals": "vital_signs", "alarm": "alarm"}[sent.kind]
        assert payload["bed"] == admission.location
        assert payload["patient"]["id"] == admission.patient_id
        assert payload["patient"]["name"] == admission.name
        assert payload["patient"]["sex"] == {"M": "male", "F": "female"}[admission.sex]
        assert (
            payload["patient"]["birth_date"]
            == datetime.strptime(admission.birth_date, "%Y%m%d").date().isoformat()
        )
        if sent.kind == "alarm":
            alarms[sent.bed] += 1
            assert payload["source"]["system"] == "MDC"
            assert payload["source"]["code"] in (SPO2, HR)
            assert payload["unit"] == METRICS[payload["source"]["code"]].ucum
            continue
        observations = payload["observations"]
        # Coded: the MDC code, in the order sent, each with its UCUM unit and a number.
        assert [o["code"]["code"] for o in observations] == list(sent.numerics)
        for o in observations:
            assert o["code"]["system"] == "MDC"
            assert o["local_code"] == {
                "code": o["code"]["code"],
                "system": "MDC",
                "display": METRICS[o["code"]["code"]].ref,
            }
            metric = METRICS[o["code"]["code"]]
            assert o["unit"] == metric.ucum
            assert isinstance(o["value"], float)
            assert metric.low <= o["value"] <= metric.high  # plausible: inside its bounds
            assert not o["unmapped"]
            assert o["flags"] == []
            numerics[sent.bed][o["code"]["code"]] += 1
        # Continuous numerics are of the snapshot's time; NIBP keeps the cuff's own.
        measured = when(payload["measured_at"])
        assert {when(o["observed_at"]) for o in observations if o["code"]["code"] not in NIBP} == {
            measured
        }
        (cuff,) = {when(o["observed_at"]) for o in observations if o["code"]["code"] in NIBP}
        assert cuff <= measured
    assert numerics == ward.numerics_acked()
    assert alarms == ward.alarms_acked()
    assert all(set(counts) == set(METRICS) for counts in numerics.values())
    # The cuff measured more than once per bed within the run, and was repeated in between.
    for bed in admissions:
        snapshots = [
            by_control_id[s.control_id]["payload"]
            for s in acked
            if s.bed == bed and s.kind == "vitals"
        ]
        cuff_times = [
            next(o["observed_at"] for o in p["observations"] if o["code"]["code"] in NIBP)
            for p in snapshots
        ]
        assert len(set(cuff_times)) >= 2
        assert any(
            when(t) < when(p["measured_at"]) for t, p in zip(cuff_times, snapshots, strict=True)
        )
    # The forced alarms arrive as such: high priority, started, naming what crossed.
    starts = {
        (
            by_control_id[s.control_id]["payload"]["text"],
            by_control_id[s.control_id]["payload"]["state"],
        )
        for s in forced
    }
    assert {("SpO2 LOW", "start"), ("HR HIGH", "start")} <= starts
    assert all(by_control_id[s.control_id]["payload"]["priority"] == "high" for s in forced)


def _backlog_pool(ward: MonitorWard) -> list[VitalSigns]:
    """Snapshots of the ward's own patients, as the monitor mapper reads them."""
    return [
        event
        for raw in ward.backlog_snapshots()
        for event in monitor_events_from_hl7(parse_message(raw))
        if isinstance(event, VitalSigns)
    ]


async def test_ward_alarm_overtakes_50000_queued_vital_signs(tmp_path: Path) -> None:
    broker, consumer = await asyncio.to_thread(central_offline, tmp_path)  # centre down
    port = free_port()
    config = write_config(tmp_path / "gw", broker.url, devices=monitor_device(port))
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    ward = MonitorWard(BEDS, seed=11, rate_hz=5.0)
    arrivals = Arrivals(consumer.out)
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        pool = _backlog_pool(ward)
        for start in range(0, BACKLOG, 1000):
            events = [pool[i % len(pool)] for i in range(start, start + 1000)]
            await gateway.pipeline.submit_many(DEVICE, events)
        async with ward:
            await ward.connect("127.0.0.1", port)
            await ward.run(ticks=2)  # the monitors keep sending while the centre is away
            queued = len(ward.acked())
            broker.start()
            # The centre is back (both consumer sessions) and the backlog is draining.
            await async_wait_for(
                lambda: consumer.err.read_text().count("consuming ") >= 4, 30, "reconnect"
            )
            await async_wait_for(lambda: len(arrivals.poll()) >= 1000, 60, "backlog draining")
            (alarm,) = await ward.force_alarm("bed-07")
            assert alarm.ok
            await async_wait_for(
                lambda: arrivals.position(alarm.control_id) is not None,
                60,
                "the alarm",
            )
        total = BACKLOG + queued + 1
        await async_wait_for(lambda: len(arrivals.poll()) >= total, 120, "backlog drained")
        summary = consumer.stop()
    finally:
        gateway.stop()
        await running
        broker.stop()
    assert ward.failures == []
    assert summary["unique"] == total
    # Every sequence number once. The alarm shares the device's sequence with the backlog it
    # overtakes: the consumer reports that as late arrivals, not as a gap.
    assert sorted(e["seq"] for e in arrivals.records) == list(range(1, total + 1))
    assert summary["sequence_gaps"] == {}
    assert sum(summary["sequence_late"].values()) > 0
    position = arrivals.position(alarm.control_id)
    assert position is not None
    print(f"\nalarm raised with {BACKLOG:,} vital signs queued: arrived at position {position:,}")
    assert position < BACKLOG // 10, "the alarm waited behind the backlog"
    payload = arrivals.records[position]["payload"]
    assert (payload["kind"], payload["bed"], payload["text"]) == ("alarm", "ICU/bed-07", "SpO2 LOW")
    # It also overtook the snapshots its own monitor had sent, and ACKed, before it.
    earlier = {s.control_id for s in ward.acked("vitals")}
    assert all(n > position for n, e in enumerate(arrivals.records) if msh10(e) in earlier)
    assert len(arrivals.records) == total
