"""A flipped byte in a stored payload is caught by its digest: quarantined, never sent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import Outbox, State
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import (
    async_wait_for,
    central_offline,
    http_get,
    metric_value,
    write_config,
)


async def test_corrupted_row_is_quarantined_and_the_rest_delivered(tmp_path: Path) -> None:
    broker, consumer = await asyncio.to_thread(central_offline, tmp_path)  # centre down
    settings = load_settings(write_config(tmp_path / "gw", broker.url))
    store = Path(settings.store.path)
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    ids = [
        await gateway.pipeline.submit(
            "dev-1", Identification(source=IdentificationSource.BARCODE, data=f"SP{i}")
        )
        for i in range(5)
    ]
    gateway.stop()
    await running

    # Flip one byte of the third payload on disk, behind SQLite's back (as a bad sector would).
    with sqlite3.connect(store) as db:
        payload = db.execute("SELECT payload FROM outbox WHERE id = ?", (ids[2],)).fetchone()[0]
        damaged = payload.replace(b"SP2", b"SP7")
        db.execute("UPDATE outbox SET payload = ? WHERE id = ?", (damaged, ids[2]))

    broker.start()
    gateway = Gateway(load_settings(settings_path := tmp_path / "gw" / "wardlink.toml"))
    running = asyncio.create_task(gateway.run())
    port = int(gateway.settings.http.listen.rsplit(":", 1)[1])
    try:
        expected = set(ids) - {ids[2]}
        await async_wait_for(lambda: expected <= set(consumer.ids()), 30, "good rows delivered")
        for _ in range(100):
            _, body = await asyncio.to_thread(http_get, port, "/metrics")
            if metric_value(body, "wardlink_outbox_quarantined") == 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("quarantine not visible in metrics")
    finally:
        gateway.stop()
        await running
        summary = consumer.stop()
        broker.stop()
    assert ids[2] not in consumer.ids()
    assert summary["unique"] == 4
    outbox = Outbox(store)
    try:
        quarantined = outbox.list(State.QUARANTINED)
    finally:
        outbox.close()
    assert [row.id for row in quarantined] == [ids[2]]
    assert settings_path.exists()
