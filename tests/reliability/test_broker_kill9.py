"""Acceptance 3: Mosquitto killed with SIGKILL while envelopes are in flight, e2e acks on.

The centre's consumer has a persistent session and is offline, so the broker is queueing for
it; an analyzer streams through the gateway. Mosquitto is killed three times (SIGKILL: what it
queued since its last save is gone, PUBACKed or not) and restarted on the same port with the
same persistence. With ``end_to_end_ack = true`` the gateway counts an envelope delivered only
when the consumer says so, and publishes again what stays unacknowledged. Once the consumer
comes back with ``--ack``, everything the analyzer was ACKed for arrives, and the gateway's
outbox ends with nothing pending and nothing unacknowledged.
"""

from __future__ import annotations

import asyncio
import random
import re
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
)

BROKER_KILLS = 3
SEED = 20261124
RESEND_AFTER_S = 3.0


async def test_broker_kill9_with_end_to_end_acks_loses_nothing_acked(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    began = time.monotonic()
    broker = Mosquitto(tmp_path / "broker", persistence=True)
    broker.start()
    # The centre subscribed once (persistent session), and the broker saved that session on a
    # clean restart, as its periodic autosave would have; then the centre went offline.
    consumer = ConsumerProcess(tmp_path, broker.url, ack=True)
    await asyncio.to_thread(consumer.start)
    consumer.stop()
    await asyncio.to_thread(broker.stop)
    await asyncio.to_thread(broker.start)
    port = free_port()
    config = write_config(
        tmp_path / "gw",
        broker.url,
        mqtt={"end_to_end_ack": True, "resend_unacked_after_s": RESEND_AFTER_S},
        devices=analyzer_device(port),
    )
    analyzer = StreamingAnalyzer("127.0.0.1", port, pace_s=0.02)
    gateway = GatewayProcess(config, tmp_path / "gateway.log")
    try:
        gateway.start()
        analyzer.start(10_000)
        for _ in range(BROKER_KILLS):
            await analyzer.acked_more(rng.randint(20, 40))
            await asyncio.sleep(rng.uniform(0.0, 0.05))  # publishes are in flight all the time
            await asyncio.to_thread(broker.stop, kill=True)
            await asyncio.sleep(rng.uniform(0.2, 1.0))  # the analyzer keeps being ACKed
            await asyncio.to_thread(broker.start)
        await analyzer.acked_more(20)  # and on, with the broker back
        await analyzer.stop()
        await asyncio.to_thread(consumer.start)  # the centre is back, acknowledging
        acked = set(analyzer.acked)
        await async_wait_for(
            lambda: acked <= {specimen_key(e) for e in consumer.envelopes()},
            90,
            "every ACKed specimen at the consumer",
        )
        await async_wait_for(
            lambda: (
                gateway.metric("wardlink_outbox_sent_unacknowledged") == 0
                and gateway.metric("wardlink_outbox_pending") == 0
            ),
            30,
            "the outbox fully acknowledged end to end",
        )
        summary = consumer.stop()
        assert await asyncio.to_thread(gateway.stop) == 0, gateway.log_tail()
    finally:
        await analyzer.stop()
        consumer.close()  # kills it if a failure left it running
        gateway.__exit__()
        broker.stop()
    result = account({ANALYZER: analyzer.acked}, consumer.envelopes())
    resent = sum(map(int, re.findall(r"re-sending (\d+) envelopes", gateway.log.read_text())))
    print(
        f"\nbroker kill -9 x{BROKER_KILLS} in {time.monotonic() - began:.0f} s: "
        f"{result.report()}; consumer saw {summary['duplicates']} re-sent envelopes (same id); "
        f"gateway re-sent {resent} unacknowledged envelopes; analyzer {analyzer.summary()}"
    )
    assert result.lost_total == 0, result.lost
    assert result.gaps == {}, result.gaps
    assert summary["sequence_gaps"] == {}
    assert summary["invalid"] == summary["digest_mismatches"] == 0
