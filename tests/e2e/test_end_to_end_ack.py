"""Acceptance: with end-to-end acks, only the consumer's receipt marks an envelope acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import Outbox, State
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto


def states(store: Path) -> dict[State, int]:
    outbox = Outbox(store)
    try:
        counts: dict[State, int] = {}
        for row in outbox.list(None, limit=10_000):
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts
    finally:
        outbox.close()


async def test_unacked_envelopes_stay_sent_and_go_again_after_restart(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = write_config(tmp_path / "gw", mosquitto.url, mqtt={"end_to_end_ack": True})
    settings = load_settings(config)
    store = Path(settings.store.path)

    # 1. A consumer that does not ack: the broker PUBACKs, nothing is acknowledged.
    silent = await asyncio.to_thread(
        ConsumerProcess(tmp_path, mosquitto.url, client_id="silent").start
    )
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    ids = [
        await gateway.pipeline.submit(
            "dev-1", Identification(source=IdentificationSource.BARCODE, data=f"SP{i}")
        )
        for i in range(20)
    ]
    await async_wait_for(lambda: set(ids) <= set(silent.ids()), 30, "delivery to silent consumer")
    await async_wait_for(lambda: states(store).get(State.SENT) == 20, 10, "rows marked sent")
    assert State.ACKED not in states(store)
    gateway.stop()
    await running
    silent.stop()

    # 2. After a restart, a consumer that acks gets them again and its acks mark them.
    acking = await asyncio.to_thread(
        ConsumerProcess(tmp_path, mosquitto.url, client_id="acking", ack=True).start
    )
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    try:
        await async_wait_for(lambda: set(ids) <= set(acking.ids()), 30, "re-sent after restart")
        await async_wait_for(lambda: states(store) == {State.ACKED: 20}, 10, "acks recorded")
    finally:
        gateway.stop()
        await running
        acking.stop()
