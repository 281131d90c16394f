"""Noise on one port never slows another device, and its rejects stay within budget.

Issue 11, defect 5: 1 MB of random bytes on an ASTM port made ~21,000 rejects, each a file
written, a folder listed and sorted and a log line, all on the event loop: HL7 answers on
another port stalled for 15 s, and ``rejected/`` could grow to ~500 MB per device outside the
store quota.
"""

from __future__ import annotations

import asyncio
import os
import random
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.reject_records import read_records
from tests.e2e.harness import http_get, metric_value, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru

NOISE_BYTES = 1024 * 1024
CHUNK = 4096
REJECT_BUDGET_MB = 0.25


def devices(astm_port: int, hl7_port: int) -> str:
    return (
        f'[[devices]]\nid = "astm-1"\nkind = "astm-analyzer"\n'
        f'connection = "listen://127.0.0.1:{astm_port}"\n'
        f'[[devices]]\nid = "hl7-1"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{hl7_port}"\n'
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_noise_on_an_astm_port_does_not_stall_an_hl7_device(
    tmp_path: Path, mosquitto: Mosquitto, umask_022: None
) -> None:
    rng = random.Random(20261202)
    noise = rng.randbytes(NOISE_BYTES)
    astm_port, hl7_port = free_port(), free_port()
    config = write_config(
        tmp_path / "gw",
        mosquitto.url,
        devices=devices(astm_port, hl7_port),
        store={"reject_budget_mb": REJECT_BUDGET_MB},
    )
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    latencies: list[float] = []
    try:
        for port in (astm_port, hl7_port):
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        hl7 = await Hl7Sender.connect("127.0.0.1", hl7_port)
        reader, writer = await asyncio.open_connection("127.0.0.1", astm_port)

        async def flood() -> None:
            for offset in range(0, NOISE_BYTES, CHUNK):
                writer.write(noise[offset : offset + CHUNK])
                await writer.drain()
            writer.write_eof()
            while await reader.read(65536):  # whatever the link answers (NAKs), until it closes
                pass

        flooding = asyncio.create_task(flood())
        n = 0
        while not flooding.done() or n < 20:
            started = time.monotonic()
            ack = await hl7.send(synthetic_oru(rng, f"N{n}"))
            latencies.append(time.monotonic() - started)
            assert ack.code == "AA", ack
            n += 1
        await flooding
        await hl7.close()
        writer.close()
        _, metrics = await asyncio.to_thread(http_get, gateway.control.port, "/metrics")
    finally:
        gateway.stop()
        await running

    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rejected = metric_value(metrics, "wardlink_intake_rejected_total", 'device="astm-1"')
    folder = Path(gateway.settings.store.path).parent / "rejected"
    records = read_records(folder)
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(
        f"\n1 MiB of noise: {rejected:.0f} rejects in {len(records)} record(s), {on_disk} bytes "
        f"kept; HL7 answers {len(latencies)}, p99 {p99 * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )
    assert rejected > 1000  # the noise really was rejected, many times
    # Every reject is in a record or counted as not kept (queue full, budget, disk).
    assert sum(record.rejects for record in records) + gateway.rejects.unkept == rejected
    assert on_disk <= REJECT_BUDGET_MB * 1024 * 1024
    assert 1 <= len(records) <= 10  # coalesced: one record per burst, not one per reject
    assert p99 < 1.0
    # Patient data at rest: the store and the rejected input are the gateway user's only.
    state = Path(gateway.settings.store.path).parent
    loose = {
        str(p.relative_to(state)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in state.rglob("*")
        if p.name != "wardlink.toml" and stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}
