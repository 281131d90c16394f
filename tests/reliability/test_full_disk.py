"""Acceptance 2 of issue 11: the disk under the store really fills while a second device streams.

The gateway runs unchanged (``python -m gateway run``) with its store directory (``outbox.db``,
its WAL, ``rejected/``) on the power-cut FUSE filesystem given a small capacity
(:mod:`tests.reliability.powercut.capacity`): past it every write gets ``ENOSPC`` from the
kernel and ``statvfs`` reports the same free space. A real Mosquitto, and the reference
consumer acknowledging end to end. A filler file (another program's log, say) leaves the store
a little room; device A, an HL7 analyzer, streams results and resends whatever was not answered
AA, while device B spews random bytes into an ASTM port, so the reject archive writes too.
The gateway's own results fill the rest of the disk. Then:

- while the disk is full the analyzer is answered AR (ADR 0007: "the receiver cannot accept it
  now", the HL7 answer that makes it resend), the process stays up, ``/readyz`` answers 503
  naming the full store, ``/healthz`` stays 200 (a restart frees no space), ``wardlink_store_full``
  is 1;
- the reject archive never holds more than its budget, and keeps nothing while the disk is
  full (``wardlink_intake_rejected_unkept_total{reason="disk"}``);
- nothing is committed while full, and no device sequence number is skipped (a gap would tell
  the centre a result was lost);
- deleting the filler lets intake resume in the same process; the refused message, resent, is
  acknowledged, and the stream goes on;
- everything the analyzer was answered AA for is at the consumer (lost = 0), the log holds no
  traceback, and SIGTERM stops the gateway with exit code 0.

Shown to fail: with the HL7 runner answering AA when the commit failed, 918 acknowledged
results were lost in one run; before ``SQLITE_FULL`` became a full store, the ``[0]`` case
found a sequence gap.

``min_free_mb`` is run at 1 (the gateway's own headroom check refuses first) and at 0 (an
operator who turned it off: only SQLite's ``SQLITE_FULL`` from the real ``ENOSPC`` says so).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ConsumerProcess, http_get, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.reliability.accounting import account, specimen_key
from tests.reliability.full_disk_peers import ResendingAnalyzer, astm_noise
from tests.reliability.kill_harness import GatewayProcess
from tests.reliability.powercut import PowerCutFS, fuse_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MIB = 1 << 20
CAPACITY = 24 * MIB
ROOM = 3 * MIB
"""What the filler leaves: the gateway's results fill it in seconds."""
REJECT_BUDGET_MB = 0.1
ANALYZER = "analyzer-a"
NOISY = "noisy-b"
FULL_ANSWERS = 20
"""Refusals the analyzer sees while the disk stays full: the gateway keeps answering."""
NOISE_PAUSE_S = 2.5
"""Longer than the reject archive's ``quiet_s`` (2 s): each noise burst becomes one record."""
PHASE_LIMIT_S = 60.0
AFTER_ANSWERS = 30


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerCutFS]:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with PowerCutFS(tmp_path / "disk", capacity=CAPACITY) as mounted:
        yield mounted


def devices(ports: dict[str, int]) -> str:
    return (
        f'[[devices]]\nid = "{ANALYZER}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{ports[ANALYZER]}"\n'
        f'[[devices]]\nid = "{NOISY}"\nkind = "astm-analyzer"\n'
        f'connection = "listen://127.0.0.1:{ports[NOISY]}"\n'
        "[devices.options]\nhost_query = false\n"
    )


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(path: Path, leave: int) -> None:
    """Write ``path`` until the disk it is on has ``leave`` bytes free (or fewer)."""
    with path.open("wb", buffering=0) as filler:
        while (free := free_bytes(path.parent)) > leave:
            filler.write(b"\0" * min(MIB, free - leave))
        os.fsync(filler.fileno())


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("min_free_mb", [1, 0])
async def test_full_disk_refuses_without_losing_anything_and_resumes_when_space_returns(
    tmp_path: Path, mosquitto: Mosquitto, disk: PowerCutFS, min_free_mb: int
) -> None:
    store = disk.mountpoint / "store"
    ports = {ANALYZER: free_port(), NOISY: free_port()}
    config = write_config(
        tmp_path / "gw",
        mosquitto.url,
        mqtt={"end_to_end_ack": True},
        store={
            "path": str(store / "outbox.db"),
            "quota_mb": 64,  # more than the disk: the disk, not the quota, runs out
            "min_free_mb": min_free_mb,
            "reject_budget_mb": REJECT_BUDGET_MB,
        },
        devices=devices(ports),
    )
    fill(disk.mountpoint / "filler", leave=ROOM)
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url, ack=True).start)
    gateway_log = tmp_path / "gateway.log"
    with GatewayProcess(config, gateway_log) as gateway:
        gateway.start()
        await asyncio.to_thread(gateway.wait_up)
        for port in ports.values():
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        analyzer = ResendingAnalyzer(ports[ANALYZER], phase="filling")
        streaming = asyncio.create_task(analyzer.run())
        quiet = asyncio.Event()
        noise = asyncio.create_task(astm_noise(ports[NOISY], quiet, pause_s=NOISE_PAUSE_S))
        rejects_peak = 0

        async def metric(name: str, labels: str = "") -> float:
            return await asyncio.to_thread(gateway.metric, name, labels)

        async def until(
            condition: Callable[[], Awaitable[bool]], what: str, *, must: bool = True
        ) -> bool:
            """Poll ``condition``, checking on the way that the gateway lives and the reject
            archive keeps within its budget; past the limit fail, or (``must=False``) go on
            to the assertions, which say more than a timeout."""
            nonlocal rejects_peak
            deadline = time.monotonic() + PHASE_LIMIT_S
            while True:
                rejects_peak = max(rejects_peak, tree_bytes(store / "rejected"))
                if await condition():
                    return True
                assert gateway.running, f"the gateway died:\n{gateway.log_tail()}"
                if time.monotonic() > deadline:
                    assert not must, f"timed out waiting for {what}"
                    return False
                await asyncio.sleep(0.1)

        def refused(phase: str) -> int:
            return analyzer.count(phase, "AR") + analyzer.count(phase, "AE")

        async def intake_refused() -> float:
            return await metric("wardlink_intake_refused_total", f'device="{ANALYZER}"')

        async def disk_full() -> bool:
            # The gateway's count, not only the analyzer's answers: a gateway that answered AA
            # for what it could not commit must fail on the accounting, not time out here.
            return refused("filling") > 0 or await intake_refused() > 0

        await until(disk_full, "the disk to fill and the gateway to refuse")
        analyzer.phase = "full"

        async def stays_full() -> bool:
            # Long enough for a burst of rejects to end while the disk is full: not kept.
            return (
                analyzer.answered("full") >= FULL_ANSWERS
                and await metric("wardlink_store_full") == 1
                and await metric("wardlink_intake_rejected_unkept_total", 'reason="disk"') > 0
            )

        await until(stays_full, "refusals, the full-store gauge, a reject not kept")
        ready = await asyncio.to_thread(http_get, gateway.http_port, "/readyz")
        healthy = await asyncio.to_thread(http_get, gateway.http_port, "/healthz")
        # Close the "full" phase before reading the gateway's count: the analyzer sends one
        # message at a time, so once one sent in "settling" is answered, every "full" one is.
        analyzer.phase = "settling"

        async def full_phase_answered() -> bool:
            return analyzer.answered("settling") > 0

        await until(full_phase_answered, "the last message of the full phase to be answered")
        refused_total = await intake_refused()
        acked_before_freeing = len(analyzer.acked)
        print(f"\nfull disk: /readyz {ready}, /healthz {healthy}")

        (disk.mountpoint / "filler").unlink()
        analyzer.phase = "freed"

        async def resumed() -> bool:
            return (
                len(analyzer.acked) >= acked_before_freeing + AFTER_ANSWERS
                and await metric("wardlink_store_full") == 0
                and tree_bytes(store / "rejected") > 0
            )

        await until(resumed, "intake to resume and rejects to be kept once space is freed")
        ready_after = await asyncio.to_thread(http_get, gateway.http_port, "/readyz")
        quiet.set()
        analyzer.stop()
        await asyncio.gather(streaming, noise)

        async def all_arrived() -> bool:
            return set(analyzer.acked) <= {specimen_key(e) for e in consumer.envelopes()}

        await until(all_arrived, "every acknowledged result at the consumer", must=False)
        stop_code = await asyncio.to_thread(gateway.stop)
    consumer.stop()
    accounting = account({ANALYZER: analyzer.acked}, consumer.envelopes())
    print(f"answers {analyzer.answers}; {accounting.report()}; rejects peak {rejects_peak} B")

    assert accounting.lost_total == 0, accounting.lost
    # A refused message gives its sequence number back: a gap would tell the centre that a
    # result was lost.
    assert accounting.gaps == {}, accounting.report()
    # The disk stayed full: nothing could be committed, every answer was a refusal (AR).
    assert refused("full") == analyzer.answered("full"), analyzer.answers
    assert refused_total >= refused("filling") + refused("full")
    assert ready[0] == 503, ready
    assert json.loads(ready[1])["checks"]["store"].startswith("full"), ready
    assert healthy[0] == 200, healthy
    assert ready_after[0] == 200, ready_after
    assert 0 < rejects_peak <= REJECT_BUDGET_MB * MIB
    assert stop_code == 0, gateway.log_tail()
    # A full disk is an operating condition, not a bug: the forwarder waits, it does not crash.
    assert "Traceback" not in gateway_log.read_text(), gateway.log_tail()
