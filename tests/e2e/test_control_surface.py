"""/metrics, /healthz and /readyz over real HTTP, with and without a broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import http_get, write_config
from tests.hardware_sim.broker import Mosquitto, free_port

EXPECTED_METRICS = [
    "wardlink_intake_messages_total",
    "wardlink_forward_messages_total",
    "wardlink_outbox_pending",
    "wardlink_outbox_oldest_pending_age_seconds",
    "wardlink_forward_lag_seconds",
    "wardlink_broker_connected",
    "wardlink_store_commit_seconds",
    "wardlink_intake_refused_total",
    "wardlink_forward_refused_total",
    "wardlink_device_connected",
]


async def probe(port: int, path: str) -> tuple[int, dict[str, object]]:
    status, body = await asyncio.to_thread(http_get, port, path)
    return status, json.loads(body)


async def test_probes_say_what_they_mean(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker", port=free_port())
    settings = load_settings(write_config(tmp_path / "gw", broker.url))
    port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await asyncio.sleep(0.2)
        status, body = await probe(port, "/readyz")
        # No broker: still ready, because events are buffered safely within quota.
        assert status == 200
        assert str(body["checks"]).count("buffering") == 1
        broker.start()
        for _ in range(100):
            status, body = await probe(port, "/readyz")
            if body["checks"] == {"store": "ok", "broker": "connected"}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"never saw the broker connected: {body}")
        status, body = await probe(port, "/healthz")
        assert status == 200
        assert body["ok"] is True
        _, text = await asyncio.to_thread(http_get, port, "/metrics")
        for name in EXPECTED_METRICS:
            assert f"# TYPE {name}" in text.replace("_total counter", " counter") or name in text
        assert "wardlink_broker_connected 1.0" in text
        status, _ = await asyncio.to_thread(http_get, port, "/nowhere")
        assert status == 404
    finally:
        gateway.stop()
        await running
        broker.stop()
