"""Philips IntelliVue monitors over Data Export: simulator on a pty → run_device → canonical events.

Two levels: ``run_device`` driven directly with a recording intake, and the
whole gateway → Mosquitto → consumer path, which needs the ``intellivue-monitor`` kind in
``gateway/devices/registry.py`` and is skipped, saying so, until it is registered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from adapters.astm.unread import Position
from adapters.canonical.events import Alarm, CanonicalEvent, DeviceState, OrderQuery, VitalSigns
from adapters.canonical.orders import OrderReply
from adapters.monitors.intellivue_kind import IntelliVueOptions
from gateway.devices.intake import ConnectionDropReason
from gateway.devices.registry import DEVICE_KINDS
from gateway.devices.run import DeviceConfig, run_device
from tests.e2e.harness import ConsumerProcess, async_wait_for
from tests.e2e.test_hl7_analyzer import running_gateway
from tests.hardware_sim.broker import Mosquitto, free_port
from tests.hardware_sim.intellivue_monitor import (
    MonitorAgent,
    default_agent,
    serve_pty,
    serve_udp,
)
from tests.hardware_sim.pty_pair import PtyPair

KIND = "intellivue-monitor"
SPO2 = "150456"
UNITS = {"147842": "/min", "150456": "%", "151562": "/min", "150344": "Cel", "150021": "mm[Hg]"}


@dataclass
class RecordingIntake:
    events: list[CanonicalEvent] = field(default_factory=list)
    states: list[tuple[DeviceState, str | None]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def submit(
        self,
        device_id: str,
        event: CanonicalEvent,
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
    ) -> str:
        self.events.append(event)
        return f"id-{len(self.events)}"

    async def submit_many(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
        message_key: str | None = None,
    ) -> list[str]:
        return [await self.submit(device_id, e) for e in events]

    async def ask_host(
        self, device_id: str, query: OrderQuery, *, raw: bytes | None, timeout_s: float
    ) -> OrderReply | None:
        raise AssertionError("a monitor never asks the host")

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        self.states.append((state, detail))

    def count_unread_fields(self, device_id: str, unread: Mapping[Position, int]) -> None:
        raise AssertionError("a monitor sends no ASTM records")

    def count_rejected(self, device_id: str, reason: str, raw: bytes | None = None) -> None:
        self.rejected.append(reason)

    def count_connection_dropped(self, device_id: str, reason: ConnectionDropReason) -> None:
        self.rejected.append(f"connection: {reason}")

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


def check_vitals(vitals: list[dict], agent: MonitorAgent, bed: str) -> None:  # type: ignore[type-arg]
    """Every snapshot the monitor answered arrived whole: MDC code, UCUM unit, bed, value."""
    assert vitals
    assert len(agent.answered) - len(vitals) in (0, 1)  # the last answer may still be in flight
    for snapshot, answered in zip(vitals, agent.answered, strict=False):
        assert snapshot["bed"] == bed
        observations = snapshot["observations"]
        assert [o["value"] for o in observations] == [value for _, value in answered]
        for observation in observations:
            assert observation["code"]["system"] == "MDC"
            assert observation["unit"] == UNITS.get(
                observation["code"]["code"], observation["unit"]
            )
            assert observation["unit"]
            assert observation["local_code"]["system"] == "philips-intellivue"


async def test_runner_over_a_pty_polls_numerics_and_alarms_and_releases(tmp_path: Path) -> None:
    agent = default_agent(bed_label="ICU BED 7")
    intake = RecordingIntake()
    options = IntelliVueOptions(poll_interval_s=0.5)
    with PtyPair(tmp_path) as pair:
        simulator = asyncio.create_task(serve_pty(agent, pair))
        device = DeviceConfig(
            id="bed-07-intellivue",
            kind=KIND,
            connection=f"serial://{pair.path}?baudrate=115200",
            options=options,
        )
        runner = asyncio.create_task(run_device(device, intake))
        await async_wait_for(lambda: len(intake.of(VitalSigns)) >= 3, 20, "numerics")
        agent.bed.values[SPO2] = 80.0
        agent.bed.step = lambda: None  # type: ignore[method-assign]  # hold the desaturation
        await async_wait_for(lambda: bool(intake.of(Alarm)), 20, "the SpO2 alarm")
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        simulator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await simulator
    check_vitals([v.model_dump(mode="json") for v in intake.of(VitalSigns)], agent, "ICU BED 7")
    (alarm,) = intake.of(Alarm)
    assert (alarm.text, alarm.priority, alarm.state, alarm.bed) == (
        "SpO2 LOW",
        "high",
        "start",
        "ICU BED 7",
    )
    assert alarm.source is not None
    assert alarm.source.code == SPO2
    assert (DeviceState.CONNECTED, "associated") in intake.states
    assert not agent.associated  # released on shutdown
    assert intake.rejected == []


async def test_runner_over_udp_polls_and_answers_split_results() -> None:
    agent = default_agent(bed_label="ICU BED 9")
    agent.split_results = True  # linked results (ROLRS … RORS), as a big poll comes over the LAN
    port = free_port()
    transport = await serve_udp(agent, port)
    intake = RecordingIntake()
    device = DeviceConfig(
        id="bed-09-intellivue",
        kind=KIND,
        connection=f"udp://127.0.0.1:{port}",
        options=IntelliVueOptions(poll_interval_s=0.5),
    )
    runner = asyncio.create_task(run_device(device, intake))
    try:
        await async_wait_for(lambda: len(intake.of(VitalSigns)) >= 3, 20, "numerics over UDP")
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        transport.close()
    check_vitals([v.model_dump(mode="json") for v in intake.of(VitalSigns)], agent, "ICU BED 9")
    assert not agent.associated  # released on shutdown
    assert intake.rejected == []


@pytest.mark.skipif(
    KIND not in DEVICE_KINDS, reason=f"{KIND} is not in gateway/devices/registry.py yet"
)
async def test_gateway_forwards_every_numeric_with_mdc_ucum_and_bed(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    agent = default_agent(bed_label="ICU BED 12")
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    with PtyPair(tmp_path) as pair:
        simulator = asyncio.create_task(serve_pty(agent, pair))
        devices = (
            f'[[devices]]\nid = "bed-12-intellivue"\nkind = "{KIND}"\n'
            f'connection = "serial://{pair.path}?baudrate=115200"\n'
            "[devices.options]\npoll_interval_s = 0.5\n"
        )
        async with running_gateway(tmp_path, mosquitto, devices):
            await async_wait_for(lambda: len(agent.answered) >= 4, 30, "polls answered")
            agent.bed.values[SPO2] = 80.0
            agent.bed.step = lambda: None  # type: ignore[method-assign]
            await async_wait_for(
                lambda: any(e["payload"]["kind"] == "alarm" for e in consumer.envelopes()),
                30,
                "the alarm at the consumer",
            )
            simulator.cancel()  # the monitor stops answering: the count is final
            with contextlib.suppress(asyncio.CancelledError):
                await simulator
            answered = len(agent.answered)
            await async_wait_for(
                lambda: (
                    sum(e["payload"]["kind"] == "vital_signs" for e in consumer.envelopes())
                    >= answered - 1
                ),
                30,
                "every answered snapshot at the consumer",
            )
    summary = consumer.stop()
    assert summary["duplicates"] == 0
    payloads = [e["payload"] for e in consumer.envelopes()]
    check_vitals([p for p in payloads if p["kind"] == "vital_signs"], agent, "ICU BED 12")
    alarms = [p for p in payloads if p["kind"] == "alarm"]
    assert [(a["text"], a["state"], a["bed"]) for a in alarms] == [
        ("SpO2 LOW", "start", "ICU BED 12")
    ]
