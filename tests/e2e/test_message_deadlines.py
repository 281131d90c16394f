"""Issue 11, defect 3: a started HL7 message has a deadline of its own, not one per read.

Before the fix ``read_timeout_s`` restarted at every read, so a sender trickling one byte
every few seconds kept a frame (and a descriptor) open for as long as it liked.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from adapters.mllp import encode_frame
from tests.e2e.test_hl7_analyzer import device_toml, running_gateway
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru

TRICKLE_GAP_S = 0.25  # well inside read_timeout_s: only a per-message deadline stops it


async def trickle_until_closed(port: int, data: bytes, budget_s: float) -> float | None:
    """Send ``data`` a byte at a time; seconds until the gateway closed us, or ``None``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        for byte in data:
            if time.monotonic() - started > budget_s:
                return None
            writer.write(bytes((byte,)))
            try:
                if await asyncio.wait_for(reader.read(1), TRICKLE_GAP_S) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - started
        return None
    finally:
        writer.close()


async def test_a_trickled_hl7_message_is_dropped_at_its_deadline(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    devices = device_toml(port, options="read_timeout_s = 2")
    message = synthetic_oru(random.Random(3), "TRICKLE")
    async with running_gateway(tmp_path, mosquitto, devices) as gateway:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        closed_after = await trickle_until_closed(port, encode_frame(message), budget_s=30.0)
        assert closed_after is not None, "the trickling sender was never cut off"
        sample = gateway.metrics.registry.get_sample_value(
            "wardlink_connections_dropped_total",
            {"device": "analyzer-1", "kind": "hl7-analyzer", "reason": "message_deadline"},
        )
        assert sample == 1.0
        sender = await Hl7Sender.connect("127.0.0.1", port)  # the device is still served
        ack = await sender.send(message)
        await sender.close()
    assert (ack.code, ack.control_id) == ("AA", "TRICKLE")
