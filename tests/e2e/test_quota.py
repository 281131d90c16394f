"""Acceptance: at the disk quota new events are refused loudly, nothing stored is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import StoreFullError
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import (
    async_wait_for,
    central_offline,
    http_get,
    metric_value,
    write_config,
)


async def test_quota_refuses_new_events_then_resumes(tmp_path: Path) -> None:
    broker, consumer = await asyncio.to_thread(central_offline, tmp_path)  # centre down
    settings = load_settings(write_config(tmp_path / "gw", broker.url, store={"quota_mb": 1}))
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    port = int(settings.http.listen.rsplit(":", 1)[1])
    stored: list[str] = []
    try:
        with pytest.raises(StoreFullError) as refused:  # noqa: PT012 - fill until refused
            for i in range(100_000):
                event = Identification(source=IdentificationSource.BARCODE, data="X" * 300 + str(i))
                stored.append(await gateway.pipeline.submit("dev-1", event))
        assert "quota" in str(refused.value).lower()
        assert len(stored) > 500
        _, metrics = await asyncio.to_thread(http_get, port, "/metrics")
        assert metric_value(metrics, "wardlink_intake_refused_total", 'device="dev-1"') == 1
        status, body = await asyncio.to_thread(http_get, port, "/readyz")
        assert status == 503
        assert "full" in body

        # Space returns once the centre is reachable and delivered rows can be pruned.
        broker.start()
        await async_wait_for(lambda: set(stored) <= set(consumer.ids()), 60, "backlog delivered")
        event = Identification(source=IdentificationSource.BARCODE, data="after")
        later = await _submit_when_space(gateway, event)
        await async_wait_for(lambda: later in consumer.ids(), 30, "new event delivered")
        status, _ = await asyncio.to_thread(http_get, port, "/readyz")
        assert status == 200
        consumer.stop()
    finally:
        gateway.stop()
        await running
        broker.stop()


async def _submit_when_space(gateway: Gateway, event: Identification) -> str:
    # Delivered marks are flushed in small batches; retry like a device would after a NAK.
    for _ in range(100):
        try:
            return await gateway.pipeline.submit("dev-1", event)
        except StoreFullError:
            await asyncio.sleep(0.1)
    msg = "store never accepted events again"
    raise AssertionError(msg)
