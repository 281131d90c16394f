"""Acceptance 2: the gateway killed with SIGKILL at 20+ random points while an analyzer streams.

Each kill lands after a random number of ACKed specimens plus a random fraction of a message
(seeded), so kills fall during start-up, mid-frame, between the commit and the final ACK, and
while the forwarder has publishes in flight. The gateway is restarted each time; the analyzer
reconnects and retransmits what failed. At the end every specimen the analyzer was ACKed for
has reached the consumer, no per-device sequence number is skipped, and duplicates are counted.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port
from tests.reliability.accounting import account, specimen_key
from tests.reliability.kill_harness import (
    ANALYZER,
    GatewayProcess,
    StreamingAnalyzer,
    analyzer_device,
    stored_twice,
)

KILLS = 22
SEED = 20261123


async def test_gateway_kill9_at_random_points_loses_nothing_acked(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    port = free_port()
    config = write_config(tmp_path / "gw", mosquitto.url, devices=analyzer_device(port))
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    analyzer = StreamingAnalyzer("127.0.0.1", port).start(10_000)
    with GatewayProcess(config, tmp_path / "gateway.log") as gateway:
        try:
            for _ in range(KILLS):
                gateway.start()
                try:
                    await analyzer.acked_more(rng.randint(0, 12))
                except AssertionError as exc:
                    raise AssertionError(f"{exc}; gateway log:\n{gateway.log_tail()}") from None
                await asyncio.sleep(rng.uniform(0.0, 0.08))  # somewhere inside a message
                gateway.kill()
            await analyzer.stop()
            gateway.start()  # the last restart: forward whatever is left
            acked = set(analyzer.acked)
            await async_wait_for(
                lambda: acked <= {specimen_key(e) for e in consumer.envelopes()},
                60,
                "every ACKed specimen at the consumer",
            )
            await asyncio.to_thread(gateway.wait_up)
            assert await asyncio.to_thread(gateway.stop) == 0, gateway.log_tail()
        finally:
            await analyzer.stop()
            summary = consumer.stop()
    envelopes = consumer.envelopes()
    result = account({ANALYZER: analyzer.acked}, envelopes)
    twice = stored_twice(envelopes)
    print(
        f"\ngateway kill -9 x{gateway.kills} in {time.monotonic() - began:.0f} s: "
        f"{result.report()}; consumer saw {summary['duplicates']} re-sent envelopes "
        f"(same id); specimens stored twice (ACK lost to a kill, analyzer retransmitted): "
        f"{len(twice)}; analyzer {analyzer.summary()}"
    )
    assert gateway.kills >= 20
    assert result.lost_total == 0, result.lost
    assert result.gaps == {}, result.gaps
    assert summary["sequence_gaps"] == {}
    assert summary["invalid"] == summary["digest_mismatches"] == 0
    assert len(analyzer.acked) >= KILLS  # the stream kept going between kills
