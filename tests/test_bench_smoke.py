"""`make bench` runs end to end at small sizes: a bench that hangs or fails is caught here.

Rates are not asserted (a loaded CI machine measures nothing); that the rows come out is. The
two parts below once broke without a test noticing: the consumer died on ``--out /dev/null``
and the bench waited for it forever, and the 50-connection HL7 run met the connection cap.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.forwarding import bench_store_to_consumer
from bench.hl7 import mllp_rates
from tests.hardware_sim.broker import Mosquitto


def _rate(value: str) -> float:
    return float(value.split(maxsplit=1)[0].replace(",", ""))


async def test_store_to_consumer_bench_delivers_every_event(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    result = await asyncio.wait_for(bench_store_to_consumer(tmp_path, mosquitto, 300), 120)
    assert result.to_broker > 0
    assert result.to_consumer > 0
    assert result.payload_size > 0


def test_hl7_bench_gets_every_message_acknowledged_on_1_and_50_connections(
    tmp_path: Path,
) -> None:
    rows = mllp_rates(tmp_path, 100)
    assert [name for name, _ in rows] == [
        "MLLP ACKed, durable commit each: wardlink, 1 conn",
        "MLLP ACKed, durable commit each: wardlink, 50 conn",
        "MLLP ACKed, nothing stored: python-hl7 server, 1 conn",
        "MLLP ACKed, nothing stored: python-hl7 server, 50 conn",
    ]
    assert all(_rate(value) > 0 for _, value in rows)
