"""Issue 14: the retained device status does not go stale.

A monitor once showed ``messages_total: 0`` in the retained status while ``/metrics`` counted 18:
the status was published only when the link's state changed. Now counts that moved are
republished within seconds, and every device at least every ``refresh_every_s`` (60 s by default)
even when nothing changed, so a late subscriber never reads an old count for long.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import async_wait_for, http_get, metric_value, write_config
from tests.e2e.test_device_supervisor import devices_toml, feeding, listen_port
from tests.e2e.test_status_topics import BASE, StatusWatcher
from tests.hardware_sim.broker import Mosquitto

A = "analyzer-a"
IDLE = (
    '[[devices]]\nid = "idle-1"\nkind = "serial-scanner"\n'
    'connection = "tcp://127.0.0.1:9"\nenabled = false\n'
)


async def test_retained_status_carries_fresh_counts_and_is_republished(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    settings = load_settings(
        write_config(tmp_path, mosquitto.url, devices=devices_toml({A: listen_port()}) + IDLE)
    )
    http_port = int(settings.http.listen.rsplit(":", 1)[1])
    watcher = StatusWatcher(mosquitto)
    gateway = Gateway(settings)
    gateway.status.refresh_every_s = 1.0
    running = asyncio.create_task(gateway.run())

    def published(device: str) -> list[dict[str, object]]:
        topic = f"{BASE}/device/{device}/status"
        return [payload for t, payload, _ in list(watcher.seen) if t == topic]

    try:
        async with feeding({A: int(settings.devices[0].connection.rsplit(":", 1)[1])}):
            await async_wait_for(
                lambda: gateway.devices.state(A).messages_total >= 10, 60, "10 messages committed"
            )
            committed = gateway.devices.state(A).messages_total
            # Still connected, no state change: the count must reach the retained status anyway.
            await async_wait_for(
                lambda: any(
                    p["state"] == "connected" and int(str(p["messages_total"])) >= committed
                    for p in published(A)
                ),
                15,
                f"A's retained status counting at least {committed} messages",
            )
            latest = published(A)[-1]
            assert "last_message_at" in latest
            _, body = await asyncio.to_thread(http_get, http_port, "/metrics")
            stamp = metric_value(
                body,
                "wardlink_device_last_message_timestamp_seconds",
                f'device="{A}",kind="lab_result"',
            )
            assert time.time() - 60 < stamp <= time.time()
        # A device that never changes is republished too, at the refresh period.
        seen_idle = len(published("idle-1"))
        await async_wait_for(
            lambda: len(published("idle-1")) >= seen_idle + 3, 15, "idle-1 republished 3 times"
        )
        assert {p["state"] for p in published("idle-1")} == {"disabled"}
    finally:
        gateway.stop()
        await running
        watcher.close()
