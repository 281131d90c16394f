"""Issue 14: ``wardlink devices`` against a running gateway, and ``/api/devices`` beside it.

Two HL7 analyzers feed an in-process gateway and a real Mosquitto; the reference consumer counts
what arrives. The CLI runs as the operator runs it (a process, reaching the gateway at the
config's ``[http] listen``). ``list --json`` and ``GET /api/devices`` say the same; ``disable``
stops one device (its port closes) while the other keeps delivering; ``enable`` brings it back.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import PYTHON, ConsumerProcess, _env, async_wait_for, http_get, write_config
from tests.e2e.test_device_supervisor import devices_toml, feeding, listen_port, refuses_connections
from tests.e2e.test_devices_hostile_http import request
from tests.hardware_sim.broker import Mosquitto

A, B = "analyzer-a", "analyzer-b"


async def wardlink(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [PYTHON, "-m", "gateway", "devices", *args, "--config", str(config)]
    return await asyncio.to_thread(
        subprocess.run, command, env=_env(), capture_output=True, text=True, timeout=60
    )


async def api(port: int) -> Any:
    status, body = await asyncio.to_thread(http_get, port, "/api/devices")
    assert status == 200
    return json.loads(body)


async def test_cli_lists_disables_and_enables_devices_like_the_api(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    ports = {A: listen_port(), B: listen_port()}
    config = write_config(tmp_path / "gw", mosquitto.url, devices=devices_toml(ports))
    settings = load_settings(config)
    http_port = int(settings.http.listen.rsplit(":", 1)[1])
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)

    def at_broker(device: str) -> int:
        return sum(1 for e in consumer.envelopes() if e["device_id"] == device)

    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await async_wait_for(lambda: gateway.devices.state(B).starts == 1, 20, "devices started")
        await async_wait_for(
            lambda: all(gateway.status.snapshot(d).detail or "" for d in ports), 20, "listening"
        )
        listed = await wardlink(config, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == await api(http_port)
        assert [(d["id"], d["state"], d["enabled"]) for d in json.loads(listed.stdout)] == [
            (A, "listening", True),
            (B, "listening", True),
        ]
        table = await wardlink(config, "list")
        assert table.stdout.splitlines()[0].split()[:3] == ["ID", "KIND", "STATE"]
        assert [line.split()[:3] for line in table.stdout.splitlines()[1:]] == [
            [A, "hl7-analyzer", "listening"],
            [B, "hl7-analyzer", "listening"],
        ]

        async with feeding(ports):
            await async_wait_for(
                lambda: at_broker(A) >= 5 and at_broker(B) >= 5, 60, "both analyzers delivering"
            )
            shown = json.loads((await wardlink(config, "show", A, "--json")).stdout)
            assert shown["state"] == "connected"
            assert shown["counts"]["messages"] >= 5
            assert shown["simulator"] == {
                "name": "hl7-sender",
                "command": "wardlink sim hl7-sender",
            }

            disabled = await wardlink(config, "disable", A)
            assert (disabled.returncode, disabled.stdout) == (
                0,
                f"{A}: disable done; now disabled\n",
            )
            assert refuses_connections(ports[A])  # its port released before the reply
            committed_a = gateway.devices.state(A).messages_total
            b_at_stop = at_broker(B)
            await async_wait_for(lambda: at_broker(B) >= b_at_stop + 10, 60, "B delivering")
            await async_wait_for(lambda: at_broker(A) == committed_a, 30, "A's last committed")
            assert at_broker(A) == committed_a

            enabled = await wardlink(config, "enable", A, "--json")
            assert json.loads(enabled.stdout)["device"]["enabled"] is True
            await async_wait_for(lambda: at_broker(A) >= committed_a + 5, 60, "A delivering again")

        await async_wait_for(
            lambda: {gateway.devices.state(d).link.value for d in ports} == {"disconnected"},
            30,
            "both analyzers gone",
        )
        listed = await wardlink(config, "list", "--json")
        assert json.loads(listed.stdout) == await api(http_port)
        by_id = {d["id"]: d for d in json.loads(listed.stdout)}
        assert by_id[A]["counts"]["messages"] >= committed_a + 5
        assert by_id[A]["counts"]["reconnects"] >= 1

        unknown = await wardlink(config, "disable", "analyzer-z")
        assert unknown.returncode == 1
        assert "404: no device 'analyzer-z'" in unknown.stderr
    finally:
        gateway.stop()
        await running
    consumer.stop()

    gone = await wardlink(config, "list")
    assert gone.returncode == 1
    assert "is it running?" in gone.stderr


async def test_actions_are_refused_off_the_loopback(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1", devices=devices_toml({A: listen_port()}))
    text = config.read_text().replace('listen = "127.0.0.1:', 'listen = "0.0.0.0:')
    config.write_text(text)
    settings = load_settings(config)
    http_port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await async_wait_for(lambda: gateway.devices.state(A).starts == 1, 20, "A started")
        status, body = await asyncio.to_thread(
            request, http_port, f"POST /api/devices/{A}/disable HTTP/1.1\r\n\r\n".encode()
        )
        assert status == 403
        assert "loopback" in json.loads(body)["error"]
        refused = await wardlink(config, "disable", A)
        assert refused.returncode == 1
        assert "403" in refused.stderr
        assert gateway.devices.state(A).starts == 1
        assert (await api(http_port))[0]["enabled"] is True
    finally:
        gateway.stop()
        await running


async def test_a_failing_device_reads_error_in_plain_words(tmp_path: Path) -> None:
    closed = listen_port()  # nothing listens there: every connect attempt is refused
    dialing = (
        f'[[devices]]\nid = "scanner-1"\nkind = "serial-scanner"\n'
        f'connection = "tcp://127.0.0.1:{closed}"\n'
        '[[devices]]\nid = "scanner-off"\nkind = "serial-scanner"\n'
        'connection = "tcp://127.0.0.1:9"\nenabled = false\n'
    )
    config = write_config(tmp_path, "mqtt://127.0.0.1:1", devices=dialing)
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    try:
        await async_wait_for(
            lambda: gateway.status.last_error("scanner-1") is not None, 20, "a refused connect"
        )
        listed = await wardlink(config, "list", "--json")
        failing, off = json.loads(listed.stdout)
        assert (failing["state"], failing["enabled"]) == ("error", True)
        assert "refused" in failing["last_error"]["text"].lower()
        assert (off["state"], off["enabled"], off["enabled_in_config"]) == (
            "disabled",
            False,
            False,
        )
        assert off["connection"] == "tcp://127.0.0.1:9"
        table = (await wardlink(config, "list")).stdout.splitlines()
        assert table[1].split()[:3] == ["scanner-1", "serial-scanner", "error"]
        assert "refused" in table[1].lower()
    finally:
        gateway.stop()
        await running
