"""Append throughput and latency through the real pipeline and group commit."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.canonical.codes import CodedValue, Observation
from adapters.canonical.events import LabResult
from edge_store import AsyncOutbox, Durability, NewEntry, Outbox
from gateway.envelope import Envelope, UlidFactory, utc_now
from gateway.forwarding.topics import Topics
from gateway.metrics import Metrics
from gateway.pipeline import DeviceInfo, Pipeline
from gateway.status import StatusBoard

TOPICS = Topics("wardlink", "bench", "ward", "gw-bench")


def sample_event(i: int) -> LabResult:
    """A small lab result (~600 bytes as an envelope), like one chemistry test."""
    return LabResult(
        specimen_id=f"SP{i:010d}",
        observations=[
            Observation(
                local_code=CodedValue(code="GLU", system="local"),
                code=CodedValue(code="2345-7", system="LOINC", display="Glucose"),
                value=5.4 + (i % 10) / 10,
                unit="mmol/L",
                reference_range="3.9-6.1",
            )
        ],
    )


def make_pipeline(outbox: AsyncOutbox, devices: int = 10) -> Pipeline:
    metrics = Metrics()
    return Pipeline(
        topics=TOPICS,
        outbox=outbox,
        metrics=metrics,
        status=StatusBoard(metrics),
        devices={f"analyzer-{d}": DeviceInfo(kind="astm-analyzer") for d in range(devices)},
    )


@dataclass
class AppendResult:
    producers: int
    rate: float
    commit_p50: float
    commit_p99: float
    ack_p50: float
    ack_p99: float
    mean_batch: float


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def bench_append(
    work: Path, mode: str, events: int, producers: int, *, store_only: bool = False
) -> AppendResult:
    """Concurrent producers appending; ``store_only`` skips envelope building (bytes ready)."""
    commits: list[tuple[int, float]] = []
    outbox = AsyncOutbox(
        Outbox(work / "outbox.db", durability=Durability(mode)),
        on_commit=lambda size, seconds: commits.append((size, seconds)),
    )
    pipeline = make_pipeline(outbox)
    await pipeline.start()
    latencies: list[float] = []
    per_producer = events // producers
    ids = UlidFactory()
    payload = Envelope(
        id=ids.new(),
        site="s",
        ward="w",
        gateway_id="g",
        device_id="analyzer-0",
        device_kind="astm-analyzer",
        seq=1,
        received_at=utc_now(),
        payload=sample_event(0),
    ).to_json_bytes()

    async def producer(p: int) -> None:
        device = f"analyzer-{p % 10}"
        for i in range(per_producer):
            if store_only:
                entry = NewEntry(ids.new(), device, p * per_producer + i + 1, 1, "t", payload)
                started = time.perf_counter()
                await outbox.append(entry)
            else:
                event = sample_event(p * per_producer + i)
                started = time.perf_counter()
                await pipeline.submit(device, event)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(producer(p) for p in range(producers)))
    elapsed = time.perf_counter() - started
    await outbox.close()
    durations = [seconds for _, seconds in commits]
    return AppendResult(
        producers=producers,
        rate=per_producer * producers / elapsed,
        commit_p50=_pct(durations, 50),
        commit_p99=_pct(durations, 99),
        ack_p50=_pct(latencies, 50),
        ack_p99=_pct(latencies, 99),
        mean_batch=sum(size for size, _ in commits) / len(commits),
    )
