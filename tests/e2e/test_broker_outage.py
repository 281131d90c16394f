"""Acceptance: 10,000 events while the broker stops and restarts twice; every id arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.canonical.events import Identification, IdentificationSource
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto

TOTAL = 10_000
BATCH = 200


def scan(i: int) -> Identification:
    return Identification(
        source=IdentificationSource.BARCODE, symbology="code128", data=f"SP{i:08d}"
    )


async def test_every_event_arrives_across_two_broker_restarts(tmp_path: Path) -> None:
    # Persistence keeps the consumer's session across a clean broker restart, as in production.
    broker = Mosquitto(tmp_path / "broker", persistence=True)
    broker.start()
    consumer = ConsumerProcess(tmp_path, broker.url).start()
    gateway = Gateway(load_settings(write_config(tmp_path / "gw", broker.url)))
    running = asyncio.create_task(gateway.run())
    try:
        ids: list[str] = []
        outage_points = {
            2_000: broker.stop,
            4_000: broker.start,
            6_000: broker.stop,
            8_000: broker.start,
        }
        for start in range(0, TOTAL, BATCH):
            if start in outage_points:
                await asyncio.to_thread(outage_points[start])
            ids += await asyncio.gather(
                *(gateway.pipeline.submit("dev-1", scan(i)) for i in range(start, start + BATCH))
            )
        await async_wait_for(lambda: len(set(consumer.ids())) >= TOTAL, 120, "all events")
        summary = consumer.stop()
    finally:
        gateway.stop()
        await running
        broker.stop()
    received = consumer.ids()
    assert set(received) == set(ids)
    assert len(received) == len(set(received)), "the consumer writes each id once"
    # Duplicates are counted and reported, not hidden: the tally adds up.
    assert summary["received"] == summary["unique"] + summary["duplicates"] + summary["invalid"]
    assert summary["unique"] == TOTAL
    assert summary["invalid"] == 0
    assert summary["sequence_gaps"] == {}, "per-device order kept, no sequence skipped"
    print(
        f"\nbroker restarted twice: {TOTAL} sent, duplicates seen by consumer: "
        f"{summary['duplicates']}, sequence gaps: {summary['sequence_gaps']}"
    )
    stats = await _final_stats(gateway)
    assert stats == 0, "nothing left pending"


async def _final_stats(gateway: Gateway) -> int:
    from edge_store import Outbox  # noqa: PLC0415

    outbox = Outbox(Path(gateway.settings.store.path))
    try:
        return sum(outbox.stats().pending.values())
    finally:
        outbox.close()
