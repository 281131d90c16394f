"""Monitors over MLLP: every PCD-01/PCD-04 sample arrives as coded vitals and alarms."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from tests.e2e.harness import ConsumerProcess, async_wait_for
from tests.e2e.test_hl7_analyzer import REPO, SHARED_CORPUS, mllp_send, running_gateway
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender, messages_in_file
from tests.hardware_sim.monitor import SimulatedBed

MONITOR_FILES = [
    "hl7_oru_r01_pcd01_mindray_vs900_vitals.hl7",
    "hl7_oru_r01_pcd01_mindray_egateway_private_99MNDRY_codes.hl7",
    "hl7_oru_r01_pcd01_continua_bp_cuff_canonical_example.hl7",
    "hl7_oru_r01_mindray_xh80x_sentinel_values_no_patient.hl7",
    "hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7",
    "hl7_oru_w01_mindray_xh80x_waveform_header.hl7",
]
LOCAL_CORPUS = REPO / "tests" / "corpus" / "monitors"


def monitor_messages() -> list[bytes]:
    messages = []
    if SHARED_CORPUS.is_dir():
        for name in MONITOR_FILES:
            messages += messages_in_file(SHARED_CORPUS / name)
    for path in sorted(LOCAL_CORPUS.glob("*.hl7")):
        messages += messages_in_file(path)
    return messages


async def test_python_hl7_mllp_send_delivers_every_monitor_sample(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    messages = monitor_messages()
    assert messages, "no monitor HL7 samples found"
    expected = [e for m in messages for e in monitor_events_from_hl7(parse_message(m))]
    port = free_port()
    devices = (
        f'[[devices]]\nid = "bed-07-monitor"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
    )
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with running_gateway(tmp_path, mosquitto, devices):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        acks = await mllp_send(messages, port, tmp_path)
        await async_wait_for(lambda: len(consumer.ids()) >= len(expected), 30, "monitor events")
    consumer.stop()
    parsed = [parse_message(m) for m in messages]
    assert [a.control_id for a in acks] == [m.control_id for m in parsed]
    # PCD senders ask for a commit ACK (MSH-15 AL): CA; original mode: AA.
    assert [a.code for a in acks] == ["CA" if m.msh.text(15) == "AL" else "AA" for m in parsed]
    envelopes = consumer.envelopes()
    assert sorted(e["payload"]["kind"] for e in envelopes) == sorted(e.kind for e in expected)
    vitals = [
        o
        for e in envelopes
        if e["payload"]["kind"] == "vital_signs"
        for o in e["payload"]["observations"]
    ]
    assert vitals
    numbers = [o for o in vitals if o.get("reported", {}).get("kind") != "coded"]
    assert all(o["unit"] for o in numbers if o.get("value") is not None)
    # coded observations of the patient arrive (body position); device rows never do
    postures = [o for o in vitals if o["local_code"]["code"] == "8361-8"]
    assert [o["reported"]["coded"]["code"] for o in postures] == ["33586001"]
    assert not [o for o in vitals if o["local_code"]["code"] in {"67974", "68220", "69965"}]
    coded = [o for o in vitals if o.get("code")]
    assert coded
    assert all(o["code"]["system"] == "MDC" for o in coded)
    alarms = [e["payload"] for e in envelopes if e["payload"]["kind"] == "alarm"]
    assert alarms
    assert all(a["priority"] in ("low", "medium", "high") for a in alarms)
    assert {a.get("sub_id") for a in alarms} >= {"1.3.1.150456.2", "1.3.2.150456.2"}
    assert {"system": "EUI-64", "code": "0011223344556699"} in [
        e for a in alarms for e in a.get("equipment") or []
    ]


async def test_change_policy_thins_numerics_and_never_an_alarm(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    devices = (
        f'[[devices]]\nid = "bed-07-monitor"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\n'
        'forward = "change"\ndeadbands = { "*" = 50 }\nmax_silence_s = 3600\n'
    )
    bed = SimulatedBed("Bed07", "PT-0007", "PHẠM^MINH^ĐỨC", random.Random(1))
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    codes = []
    async with running_gateway(tmp_path, mosquitto, devices):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        sender = await Hl7Sender.connect("127.0.0.1", port)
        for n in range(10):
            bed.step()
            if n == 5:
                bed.values["150456"] = 85.0  # a desaturation: the alarm must not be thinned
            for message in [*bed.alarms(), bed.vitals()]:
                codes.append((await sender.send(message)).code)
        await sender.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 2, 30, "vitals and alarm")
        await asyncio.sleep(0.5)  # anything else would have arrived by now
    consumer.stop()
    kinds = sorted(e["payload"]["kind"] for e in consumer.envelopes())
    assert codes == ["CA"] * 11  # every message acknowledged, thinned or not
    assert kinds == ["alarm", "vital_signs"]  # 10 snapshots within the deadband → the first
