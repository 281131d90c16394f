"""Acceptance (issue 7, 1): power cuts under the real store lose no acknowledged result.

The gateway runs unchanged (``python -m gateway run``) with its outbox on the power-cut
filesystem (:mod:`tests.reliability.powercut`), which keeps only what was fsynced. Two MLLP
connections of an HL7 analyzer stream results; at 22 seeded points the plug is pulled (right
after an ACK, mid-stream, or while the gateway boots), the gateway restarts on what survived,
and the analyzer reconnects and resends what it had no answer for.

The broker is down for the whole stream and started at the end. With it up most rows leave
within milliseconds, and a store that lost them would look fine; with it down, at every cut the
outbox is the only copy of every acknowledged result, so the accounting measures the store.
The consumer's persistent session (``central_offline``) gets what is published once it is back.

The relaxed run is the same scenario and must find losses: proof that the harness can fail.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge_store import Durability, Outbox
from tests.e2e.harness import PYTHON, _env, async_wait_for, central_offline, write_config
from tests.hardware_sim.broker import free_port
from tests.reliability.accounting import Accounting, account, specimen_key
from tests.reliability.powercut import PowerCutFS, fuse_unavailable
from tests.reliability.powercut.analyzer import Analyzer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(170)]

SEED = 20261207
CUTS = 22
CONNECTIONS = 2
FINAL_ACKS = 20
DEVICE = "analyzer-1"


@dataclass(frozen=True)
class CutPoint:
    kind: str
    """``after-ack`` (the n-th ACK of the run), ``mid-stream`` (a delay after the first ACK)
    or ``at-boot`` (a delay after the gateway was spawned)."""
    acks: int = 0
    delay_s: float = 0.0


def cut_points(rng: random.Random, count: int) -> list[CutPoint]:
    points = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            points.append(CutPoint("after-ack", acks=rng.randint(1, 60)))
        elif roll < 0.85:
            points.append(CutPoint("mid-stream", delay_s=rng.uniform(0.0, 0.8)))
        else:
            points.append(CutPoint("at-boot", delay_s=rng.uniform(0.1, 1.5)))
    return points


class GatewayProcess:
    """``python -m gateway run`` as a ward node runs it; its stderr appended to one log."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [PYTHON, "-m", "gateway", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                env=_env(),
            )

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            self._proc = None

    def stop(self) -> int:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        code = self._proc.wait(timeout=60)
        self._proc = None
        return code

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class Outcome:
    accounting: Accounting
    cuts: int
    kinds: Counter[str]
    stored_twice: int
    """Specimens that arrived in two envelopes: resent after a cut that kept the first copy."""
    resent: int
    quarantined: int
    dropped_bytes: int


@pytest.fixture
def powercut(tmp_path: Path) -> Iterator[PowerCutFS]:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with PowerCutFS(tmp_path / "power") as fs:
        yield fs


async def test_durable_store_loses_no_acknowledged_result_across_power_cuts(
    tmp_path: Path, powercut: PowerCutFS
) -> None:
    outcome = await run_power_cuts(tmp_path, powercut, Durability.DURABLE)
    assert outcome.accounting.lost_total == 0, outcome.accounting.lost
    assert outcome.quarantined == 0, "no row came back with a payload that fails its digest"


async def test_relaxed_store_loses_acknowledged_results_and_the_harness_sees_it(
    tmp_path: Path, powercut: PowerCutFS
) -> None:
    outcome = await run_power_cuts(tmp_path, powercut, Durability.RELAXED)
    assert outcome.accounting.lost_total > 0


async def run_power_cuts(tmp_path: Path, fs: PowerCutFS, durability: Durability) -> Outcome:
    points = cut_points(random.Random(SEED), CUTS)
    kinds = Counter(p.kind for p in points)
    assert set(kinds) == {"after-ack", "mid-stream", "at-boot"}, kinds
    port = free_port()
    devices = (
        f'[[devices]]\nid = "{DEVICE}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
    )
    broker, consumer = central_offline(tmp_path)
    store = fs.mountpoint / "outbox.db"
    config = write_config(
        tmp_path / "gw",
        broker.url,
        store={"path": str(store), "durability": durability.value},
        devices=devices,
    )
    gateway = GatewayProcess(config, tmp_path / "gateway.log")
    analyzer = Analyzer(port, CONNECTIONS, seed=SEED)
    try:
        for point in points:
            await stream_until_cut(point, gateway, fs, analyzer)
            await asyncio.to_thread(fs.boot)
        # Power stays on: resend what is pending, take a few more, stop cleanly.
        gateway.start()
        await stream_acks(analyzer, gateway, FINAL_ACKS)
        assert gateway.stop() == 0, gateway.tail()
        assert "gateway stopped cleanly" in gateway.tail()
        pending, quarantined = await asyncio.to_thread(outbox_counts, store, durability)
        # The centre comes back: everything the store still holds goes out.
        broker.start()
        gateway.start()
        await async_wait_for(lambda: len(consumer.envelopes()) >= pending, 90, "the outbox drained")
        assert gateway.stop() == 0, gateway.tail()
        consumer.stop()
    finally:
        gateway.kill()
        consumer.close()
        broker.stop()
    envelopes = consumer.envelopes()
    result = account({DEVICE: analyzer.acked}, envelopes)
    specimens = Counter(k for k in map(specimen_key, envelopes) if k is not None)
    outcome = Outcome(
        accounting=result,
        cuts=len(fs.cuts),
        kinds=kinds,
        stored_twice=sum(n - 1 for n in specimens.values()),
        resent=analyzer.resent,
        quarantined=quarantined,
        dropped_bytes=sum(c.unsynced_bytes for c in fs.cuts),
    )
    assert outcome.cuts == CUTS
    assert result.acked >= kinds["after-ack"] + kinds["mid-stream"]
    print(
        f"\n{durability.value}: {outcome.cuts} power cuts {dict(kinds)}; {result.report()}; "
        f"specimens stored twice {outcome.stored_twice} (resent after a cut: "
        f"{outcome.resent}, answered other than AA: {analyzer.refused}); "
        f"unsynced bytes dropped {outcome.dropped_bytes}"
    )
    return outcome


async def stream_until_cut(
    point: CutPoint, gateway: GatewayProcess, fs: PowerCutFS, analyzer: Analyzer
) -> None:
    """Start the gateway, stream, and pull the plug at ``point``."""
    acks = 0
    first_ack = asyncio.Event()
    cut = asyncio.Event()

    def power_off() -> None:
        if not cut.is_set():
            cut.set()
            fs.power_off(kill=gateway.kill)

    def on_ack() -> None:
        nonlocal acks
        acks += 1
        first_ack.set()
        if point.kind == "after-ack" and acks == point.acks:
            power_off()  # synchronously: no other coroutine runs between the ACK and the cut

    gateway.start()
    stream = asyncio.create_task(analyzer.stream(on_ack))
    try:
        if point.kind == "at-boot":
            await asyncio.sleep(point.delay_s)
        elif point.kind == "mid-stream":
            await until(first_ack, stream, gateway, "the first ACK")
            await asyncio.sleep(point.delay_s)
        else:
            await until(cut, stream, gateway, f"ACK number {point.acks}")
        power_off()
    finally:
        stream.cancel()
        await asyncio.gather(stream, return_exceptions=True)


async def stream_acks(analyzer: Analyzer, gateway: GatewayProcess, count: int) -> None:
    enough = asyncio.Event()
    target = len(analyzer.acked) + count

    def on_ack() -> None:
        if len(analyzer.acked) >= target:
            enough.set()

    stream = asyncio.create_task(analyzer.stream(on_ack))
    try:
        await until(enough, stream, gateway, f"{count} more ACKs")
    finally:
        stream.cancel()
        await asyncio.gather(stream, return_exceptions=True)


async def until(
    event: asyncio.Event, stream: asyncio.Task[None], gateway: GatewayProcess, what: str
) -> None:
    """Wait for ``event``; fail with the gateway's log if the stream ends or nothing comes."""
    waiter = asyncio.create_task(event.wait())
    done, _ = await asyncio.wait({waiter, stream}, timeout=60, return_when="FIRST_COMPLETED")
    waiter.cancel()
    if waiter not in done:
        if stream in done:
            stream.result()  # raises what ended it (the gateway never listened?)
        msg = f"no {what} within 60 s; the gateway's log ends:\n{gateway.tail()}"
        raise AssertionError(msg)


def outbox_counts(store: Path, durability: Durability) -> tuple[int, int]:
    """Rows still to forward, and rows quarantined for a bad digest, read from the file."""
    outbox = Outbox(store, durability=durability)
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    return sum(stats.pending.values()), stats.quarantined
