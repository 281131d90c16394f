"""The envelope's ``device_time`` at a real broker, and its zone rule (issue 12, acceptance 4).

The rule: the offset the device sent, else the device's ``timezone`` option, else the gateway
host's zone. A message without any time gets no ``device_time``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender


@pytest.fixture
def host_in_bogota(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The gateway host's zone: UTC-5 all year, unlike the CI host and the Paris device."""
    monkeypatch.setenv("TZ", "America/Bogota")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def message(control_id: str, msh7: str, obx14: str = "") -> bytes:
    return (
        f"MSH|^~\\&|AN|LAB|||{msh7}||ORU^R01|{control_id}|P|2.5.1\r"
        f"OBR|1||SPC-{control_id}\r"
        f"OBX|1|NM|GLU^Glucose^L||5.40|mmol/L|||||F|||{obx14}\r"
    ).encode()


def device(device_id: str, port: int, options: str) -> str:
    return (
        f'[[devices]]\nid = "{device_id}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\n{options}\n'
    )


@pytest.mark.usefixtures("host_in_bogota")
async def test_device_time_follows_the_zone_rule(tmp_path: Path, mosquitto: Mosquitto) -> None:
    paris, plain = free_port(), free_port()
    devices = device("paris-analyzer", paris, 'timezone = "Europe/Paris"') + device(
        "plain-analyzer", plain, ""
    )
    sent = {
        # (device port, message) -> expected device_time
        "OFFSET": (paris, message("OFFSET", "20261122083000+0700"), "2026-11-22T08:30:00+07:00"),
        "SETTING": (paris, message("SETTING", "20261122083000"), "2026-11-22T08:30:00+01:00"),
        "HOST": (plain, message("HOST", "20261122083000"), "2026-11-22T08:30:00-05:00"),
        # The observation's own time beats the message time.
        "OBX14": (
            plain,
            message("OBX14", "20261122083000+0700", "20261122081500"),
            "2026-11-22T08:15:00+07:00",
        ),
        "NONE": (plain, message("NONE", ""), None),
    }
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    config = write_config(tmp_path / "gw", mosquitto.url, devices=devices)
    gateway = Gateway(load_settings(config))
    task = asyncio.create_task(gateway.run())
    try:
        for port in (paris, plain):
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        for port, raw, _ in sent.values():
            sender = await Hl7Sender.connect("127.0.0.1", port)
            assert (await sender.send(raw)).code == "AA"
            await sender.close()
        await async_wait_for(lambda: len(consumer.ids()) >= len(sent), 30, "all envelopes")
    finally:
        gateway.stop()
        await task
    consumer.stop()
    got = {e["payload"]["specimen_id"]: e.get("device_time") for e in consumer.envelopes()}
    want = {f"SPC-{key}": expected for key, (_, _, expected) in sent.items()}
    assert {k: _normal(v) for k, v in got.items()} == {k: _normal(v) for k, v in want.items()}


def _normal(text: str | None) -> str | None:
    """Same instant and same stated offset, whatever the ISO spelling (``Z`` or ``+00:00``)."""
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    return f"{when.isoformat()} {when.utcoffset()}"
