"""QC through a real gateway and Mosquitto: a control arrives on ``qc/``, never on ``lab/``."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender

LAB = Path(__file__).resolve().parents[1] / "corpus" / "lab"
BASE = "wardlink/test-site/icu-1/gw-1"
QC_ONLY_IN_SPM4 = LAB / "oul_r22_haematology_middleware_qc_in_spm4_only.hl7"
PATIENT = LAB / "oul_r24_boditech_style_hba1c_tx_vn_patient.hl7"  # MSH-11 T, a patient


class EventWatcher:
    """Every envelope under the gateway's topics, with its topic, as a central subscriber."""

    def __init__(self, broker: Mosquitto) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.connect(broker.host, broker.port)
        self._client.subscribe(f"{BASE}/#", qos=1)
        self._client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if "/status" in message.topic:
            return
        with self._lock:
            self.seen.append((message.topic, json.loads(message.payload)))

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.seen)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def test_a_control_marked_only_in_spm4_goes_to_the_qc_topic_and_never_to_lab(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    devices = (
        '[[devices]]\nid = "haem-mw"\nkind = "hl7-analyzer"\n'  # dialect: auto by default
        f'connection = "listen://127.0.0.1:{port}"\n'
    )
    watcher = EventWatcher(mosquitto)
    try:
        assert await asyncio.to_thread(watcher.subscribed.wait, 30)
        gateway = Gateway(
            load_settings(write_config(tmp_path / "gw", mosquitto.url, devices=devices))
        )
        task = asyncio.create_task(gateway.run())
        try:
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
            sender = await Hl7Sender.connect("127.0.0.1", port)
            acks = [
                await sender.send(path.read_bytes().replace(b"\n", b"\r"), timeout_s=30)
                for path in (QC_ONLY_IN_SPM4, PATIENT)
            ]
            await sender.close()
            await async_wait_for(lambda: len(watcher.events()) >= 2, 30, "both envelopes")
        finally:
            gateway.stop()
            await task
    finally:
        watcher.close()
    assert [a.code for a in acks] == ["AA", "AA"]
    by_topic = {topic: envelope["payload"] for topic, envelope in watcher.events()}
    assert set(by_topic) == {f"{BASE}/qc/haem-mw", f"{BASE}/lab/haem-mw"}
    qc = by_topic[f"{BASE}/qc/haem-mw"]
    assert (qc["kind"], qc["role"], qc["level"], qc["evidence"]) == (
        "qc_result",
        "control",
        "3",
        ["SPM-4=QC3"],
    )
    assert qc["specimen_id"] == "26071500123"
    assert qc["analyzer"]["dialect"] == "generic"
    assert "patient" not in qc
    lab = by_topic[f"{BASE}/lab/haem-mw"]
    assert lab["kind"] == "lab_result"
    assert lab["specimen_id"] == "HBA-0405-007"  # the patient result, and only it, on lab/
    assert lab["analyzer"]["dialect"] == "boditech"  # MSH-11 T ignored by its dialect
