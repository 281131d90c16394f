"""Acceptance: an alarm overtakes a backlog of 50,000 ordinary events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.canonical.events import (
    Alarm,
    AlarmPriority,
    AlarmState,
    Identification,
    IdentificationSource,
)
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import async_wait_for, central_offline, write_config

BACKLOG = 50_000


async def test_alarm_reaches_consumer_before_backlog_drains(tmp_path: Path) -> None:
    broker, consumer = await asyncio.to_thread(central_offline, tmp_path)  # centre down
    gateway = Gateway(load_settings(write_config(tmp_path / "gw", broker.url)))
    running = asyncio.create_task(gateway.run())
    try:
        for start in range(0, BACKLOG, 1000):
            await asyncio.gather(
                *(
                    gateway.pipeline.submit(
                        "dev-1", Identification(source=IdentificationSource.BARCODE, data=f"SP{i}")
                    )
                    for i in range(start, start + 1000)
                )
            )
        broker.start()
        await async_wait_for(lambda: len(consumer.ids()) >= 1000, 60, "backlog draining")
        alarm = Alarm(
            priority=AlarmPriority.HIGH,
            state=AlarmState.START,
            text="SpO2 low",
            value=82,
            limit=90,
            unit="%",
            bed="07",
        )
        alarm_id = await gateway.pipeline.submit("dev-1", alarm)
        await async_wait_for(lambda: alarm_id in consumer.ids(), 60, "alarm delivered")
        await async_wait_for(lambda: len(consumer.ids()) == BACKLOG + 1, 120, "backlog drained")
        consumer.stop()
    finally:
        gateway.stop()
        await running
        broker.stop()
    received = consumer.ids()
    position = received.index(alarm_id)
    print(
        f"\nalarm submitted after the consumer had ~1000 of {BACKLOG}: arrived at position "
        f"{position}"
    )
    assert position < BACKLOG // 2, "the alarm did not wait behind the backlog"
    assert received[-1] != alarm_id
