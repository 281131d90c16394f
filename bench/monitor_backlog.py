"""The monitor bench's backlog: vital signs written into the store before the gateway starts.

The ward's own patients' vital signs, raw HL7 included, go through the gateway's own pipeline
into its durable store, as the gateway would have stored them while the broker was down. Their
control ids start with ``PREFILL_TAG``, so the subscriber can tell the drain from the ward.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from edge_store import AsyncOutbox
from gateway.config.check import load_settings
from gateway.daemon import open_outbox
from gateway.forwarding.topics import Topics
from gateway.metrics import Metrics
from gateway.pipeline import DeviceInfo, Pipeline
from gateway.status import StatusBoard
from tests.hardware_sim.monitor_ward import MonitorWard

PREFILL_TAG = "PRE-"


async def prefill(config: Path, device: str, ward: MonitorWard, events: int) -> float:
    """``events`` vital signs of the ward's patients in the store, as the gateway keeps them."""
    settings = load_settings(config)
    outbox = AsyncOutbox(open_outbox(settings, owner=True), max_batch=settings.store.max_batch)
    metrics = Metrics()
    pipeline = Pipeline(
        topics=Topics(
            settings.mqtt.topic_root,
            settings.gateway.site,
            settings.gateway.ward,
            settings.gateway.id,
        ),
        outbox=outbox,
        metrics=metrics,
        status=StatusBoard(metrics),
        devices={d.id: DeviceInfo(kind=d.kind, encoding=d.encoding) for d in settings.devices},
    )
    await pipeline.start()
    pool = [
        (event, raw)
        for raw in ward.backlog_snapshots(control_prefix=PREFILL_TAG)
        for event in monitor_events_from_hl7(parse_message(raw))
    ]
    started = time.perf_counter()
    for start in range(0, events, 1000):
        await asyncio.gather(
            *(
                pipeline.submit_many(device, [pool[i % len(pool)][0]], raw=pool[i % len(pool)][1])
                for i in range(start, min(events, start + 1000))
            )
        )
    elapsed = time.perf_counter() - started
    await outbox.close()
    return elapsed
