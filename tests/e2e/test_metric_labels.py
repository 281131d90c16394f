"""No metric label comes from device input; unmapped codes are listed, bounded, not labelled.

Issue 11, defect 4: ``wardlink_unmapped_codes_total{code=...}`` took its label from the device,
so random codes made unbounded series and a code field holding a patient's name became a label.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.forwarding.topics import KIND_SEGMENTS
from tests.e2e.harness import PYTHON, _env, http_get, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender

DEVICES = ("analyzer-1", "analyzer-2")
MESSAGES_PER_DEVICE = 15
CODES_PER_MESSAGE = 20
# A code field holding a synthetic patient's name and id number, as the hostile test saw.
PATIENT_TEXT = "TRAN THI MAI 079203001234"
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_HL7_SPECIALS = set("|^~\\&\r\n")


def random_code(rng: random.Random) -> str:
    alphabet = [chr(c) for c in range(0x20, 0x250) if chr(c) not in _HL7_SPECIALS]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))).strip() or "X"


def oru(control_id: str, codes: list[str]) -> bytes:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|XN|LAB|||{now}||ORU^R01|{control_id}|P|2.5.1||||||UNICODE UTF-8",
        "PID|1||PT000001^^^^MR||NGUYEN^AN||19800101|F",
        f"OBR|1||SP{control_id}|CBC^Blood count^99LOCAL|||{now}",
    ]
    segments += [
        f"OBX|{n}|NM|{code}^local test^99LOCAL||{n}.5|g/L|||||F"
        for n, code in enumerate(codes, start=1)
    ]
    return "\r".join(segments).encode() + b"\r"


def device_toml(device_id: str, port: int) -> str:
    return (
        f'[[devices]]\nid = "{device_id}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
    )


def label_values(metrics_text: str) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {}
    for line in metrics_text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        for name, value in _LABEL.findall(line.split("{", 1)[1].rsplit("}", 1)[0]):
            labels.setdefault(name, set()).add(value)
    return labels


async def test_metric_labels_come_only_from_the_config_and_the_code(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    rng = random.Random(20261202)
    ports = {device: free_port() for device in DEVICES}
    devices = "".join(device_toml(device, port) for device, port in ports.items())
    gateway = Gateway(load_settings(write_config(tmp_path / "gw", mosquitto.url, devices=devices)))
    running = asyncio.create_task(gateway.run())
    sent: dict[str, set[str]] = {device: set() for device in DEVICES}
    try:
        for device, port in ports.items():
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
            sender = await Hl7Sender.connect("127.0.0.1", port)
            for n in range(MESSAGES_PER_DEVICE):
                codes = [random_code(rng) for _ in range(CODES_PER_MESSAGE - 1)] + [PATIENT_TEXT]
                sent[device].update(codes)
                ack = await sender.send(oru(f"{device}-{n}", codes))
                assert ack.code == "AA", ack
            await sender.close()
        status, metrics = await asyncio.to_thread(http_get, gateway.control.port, "/metrics")
        assert status == 200
        _, listing_body = await asyncio.to_thread(
            http_get, gateway.control.port, "/api/unmapped-codes"
        )
        cli = await asyncio.to_thread(
            subprocess.run,
            [
                PYTHON,
                "-m",
                "gateway",
                "unmapped",
                "--url",
                f"http://127.0.0.1:{gateway.control.port}",
            ],
            capture_output=True,
            text=True,
            env=_env(),
            check=False,
        )
    finally:
        gateway.stop()
        await running

    labels = label_values(metrics)
    allowed = {
        "device": set(DEVICES),
        "kind": set(KIND_SEGMENTS) | set(KIND_SEGMENTS.values()),
    }
    for name, values in labels.items():
        if name == "le":  # histogram buckets: numbers the gateway chose
            assert all(re.fullmatch(r"[0-9.e+]+|\+Inf", value) for value in values)
            continue
        assert name in allowed, f"label {name!r} is not a known label"
        assert values <= allowed[name], f"label {name!r} has values from outside the config"
    assert "079203001234" not in metrics
    unmapped = [
        line for line in metrics.splitlines() if line.startswith("wardlink_unmapped_codes_total{")
    ]
    assert sorted(unmapped) == [
        f'wardlink_unmapped_codes_total{{device="{device}"}} '
        f"{float(MESSAGES_PER_DEVICE * CODES_PER_MESSAGE)}"
        for device in DEVICES
    ]

    # The codes themselves: listed per device, bounded in number and in characters.
    listing = json.loads(listing_body)
    assert set(listing) == set(DEVICES)
    for device in DEVICES:
        codes = listing[device]["codes"]
        assert len(codes) == 200 < len(sent[device])
        assert sum(codes.values()) + listing[device]["other"] == (
            MESSAGES_PER_DEVICE * CODES_PER_MESSAGE
        )
        assert all(re.fullmatch(r"[A-Za-z0-9._:/*#%+?\-]{1,32}", code) for code in codes)
        assert codes["TRAN?THI?MAI?079203001234"] == MESSAGES_PER_DEVICE  # most frequent
    assert cli.returncode == 0, cli.stderr
    assert (
        f"analyzer-1\t{MESSAGES_PER_DEVICE}\tTRAN?THI?MAI?079203001234" in cli.stdout.splitlines()
    )
