"""A full disk while the consumer's end-to-end acks come in: the forwarder waits, never crashes.

Marking rows acknowledged is a write too. With the disk full to the last block (the power-cut
FUSE filesystem with a capacity, :mod:`tests.reliability.powercut.capacity`), SQLite answers
``SQLITE_FULL``. Before the fix that ended the forwarder's session as an uncaught error: an
ERROR "forwarder crashed" with a traceback, a restart every second, the broker connection torn
down and set up again for as long as the disk stayed full. Now the forwarder logs a warning and
retries; the consumer's acks it could not record are not lost work: the rows stay ``sent``, are
sent again after ``resend_unacked_after_s`` once space returns, and acknowledged then.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.reliability.accounting import account
from tests.reliability.full_disk_peers import ResendingAnalyzer
from tests.reliability.kill_harness import GatewayProcess
from tests.reliability.powercut import PowerCutFS, fuse_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CAPACITY = 16 << 20
RESULTS = 20
ANALYZER = "analyzer-a"


def fill_to_the_last_block(filler: Path) -> None:
    with filler.open("wb", buffering=0) as out:
        while (stat := os.statvfs(filler.parent)).f_bavail:
            out.write(b"\0" * (stat.f_bavail * stat.f_frsize))


async def test_acks_arriving_on_a_full_disk_pause_forwarding_and_are_recorded_later(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    port = free_port()
    with PowerCutFS(tmp_path / "disk", capacity=CAPACITY) as disk:
        config = write_config(
            tmp_path / "gw",
            mosquitto.url,
            mqtt={"end_to_end_ack": True, "resend_unacked_after_s": 2.0},
            store={"path": str(disk.mountpoint / "store" / "outbox.db"), "min_free_mb": 1},
            devices=(
                f'[[devices]]\nid = "{ANALYZER}"\nkind = "hl7-analyzer"\n'
                f'connection = "listen://127.0.0.1:{port}"\n'
            ),
        )
        # The consumer's persistent session holds what the gateway publishes while it is away.
        consumer = ConsumerProcess(tmp_path, mosquitto.url, ack=True)
        await asyncio.to_thread(consumer.start)
        await asyncio.to_thread(consumer.stop)
        log = tmp_path / "gateway.log"
        with GatewayProcess(config, log) as gateway:
            gateway.start()
            await asyncio.to_thread(gateway.wait_up)
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
            pid = gateway.pid
            analyzer = ResendingAnalyzer(port)
            streaming = asyncio.create_task(analyzer.run())
            await async_wait_for(lambda: len(analyzer.acked) >= RESULTS, 60, "results stored")
            analyzer.stop()
            await streaming

            async def metric(name: str) -> float:
                return await asyncio.to_thread(gateway.metric, name)

            async def settle(what: str, *, pending: int, unacked_at_least: int) -> None:
                for _ in range(600):
                    sent = await metric("wardlink_outbox_sent_unacknowledged")
                    if await metric("wardlink_outbox_pending") == pending and (
                        sent >= unacked_at_least if unacked_at_least else sent == 0
                    ):
                        return
                    assert gateway.running, gateway.log_tail()
                    await asyncio.sleep(0.1)
                raise AssertionError(f"timed out waiting for {what}: {gateway.log_tail()}")

            await settle("every result sent, awaiting its ack", pending=0, unacked_at_least=RESULTS)
            fill_to_the_last_block(disk.mountpoint / "filler")
            await asyncio.to_thread(consumer.start)  # receives them all, acks them all
            await async_wait_for(
                lambda: bool(consumer.envelopes()) and "is full" in log.read_text(),
                60,
                "the consumer's acks to meet the full disk",
            )
            (disk.mountpoint / "filler").unlink()
            await settle("the acks recorded once space returned", pending=0, unacked_at_least=0)
            assert gateway.pid == pid
            stop_code = await asyncio.to_thread(gateway.stop)
        consumer.stop()

    accounting = account({ANALYZER: analyzer.acked}, consumer.envelopes())
    assert accounting.lost_total == 0, accounting.lost
    assert stop_code == 0
    text = log.read_text()
    assert "crashed" not in text
    assert "Traceback" not in text
    assert "forwarding paused" in text  # the acks did meet the full disk
