"""The recipe for a new device kind works (ADR 0018): one folder plus one registry row.

``tests/example_kind/`` is a line-echo thermometer. Registered with one row, it runs in a real
gateway with a real broker: readings reach the centre, each is echoed back only once it is in
the store, and a bad line is counted, kept and not answered, all without a line of gateway code
written for it.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.devices import registry
from tests.e2e.harness import ConsumerProcess, async_wait_for, http_get, metric_value, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port

FOLDER = Path(__file__).with_name("example_kind")
CONTRACT = ("adapters.session", "adapters.kind", "adapters.canonical.")


@pytest.fixture
def line_echo_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._ROWS, "line-echo", "tests.example_kind.kind:KIND")


def test_the_example_kind_uses_nothing_but_the_contract() -> None:
    """Its folder imports the contract and the canonical events, never gateway or drivers."""
    imported = set()
    for path in FOLDER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    ours = {
        m for m in imported if m.split(".")[0] in {"adapters", "gateway", "drivers", "edge_store"}
    }
    assert ours
    assert all(m.startswith(CONTRACT) or m + "." in CONTRACT for m in ours), ours


async def test_a_kind_added_by_one_row_runs_end_to_end(
    tmp_path: Path, mosquitto: Mosquitto, line_echo_registered: None
) -> None:
    port = free_port()
    devices = (
        f'[[devices]]\nid = "thermo-1"\nkind = "line-echo"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
    )
    config = write_config(tmp_path / "gw", mosquitto.url, devices=devices)
    settings = load_settings(config)
    http_port = int(settings.http.listen.rpartition(":")[2])
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\nT 36.6\n")
        echo = await asyncio.wait_for(reader.readline(), 20)
        assert echo == b"T 36.6\n"  # the bad line got no answer; the reading did
        await async_wait_for(lambda: bool(consumer.envelopes()), 20, "the reading at the centre")
        (envelope,) = consumer.envelopes()
        assert envelope["device_id"] == "thermo-1"
        assert envelope["device_kind"] == "line-echo"
        assert envelope["payload"]["kind"] == "environment_reading"
        assert envelope["payload"]["value"] == 36.6
        _, metrics = await asyncio.to_thread(http_get, http_port, "/metrics")
        assert metric_value(metrics, "wardlink_intake_rejected_total", 'device="thermo-1"') == 1
        writer.close()
    finally:
        gateway.stop()
        await running
        consumer.stop()
