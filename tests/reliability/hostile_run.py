"""The hostile suite's bench: a gateway process with few open files, the steady device, and
what every run must leave true (see :mod:`tests.reliability.test_hostile`)."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import PYTHON, ConsumerProcess, _env, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.reliability import hostile_peers as hostile
from tests.reliability.accounting import Accounting, account
from tests.reliability.kill_harness import GatewayProcess

HOSTILE_S = float(os.environ.get("WARDLINK_HOSTILE_S", "0"))
OPEN_FILES_LIMIT = 384
"""The gateway's RLIMIT_NOFILE here. The caps (four of 16, 64 for the monitor) fit with room
for a burst of accepted-then-closed connections (asyncio accepts up to 100 per wakeup); a
leak, or listeners without caps, run into it."""
P99_LIMIT_S = 1.0
RSS_GROWTH_LIMIT_MIB = 80.0
"""Messages are capped at 1 MiB; a 4 MiB frame or 9,000 frames must never be held whole."""
LOG_LIMIT_BYTES = 1 << 20
STEADY = "steady-analyzer"
VICTIMS = ("victim-hl7", "victim-astm", "victim-scanner", "victim-monitor")


class LimitedGateway(GatewayProcess):
    """``wardlink run`` with a low open-files limit, as a small node under systemd might have."""

    open_files = OPEN_FILES_LIMIT

    def start(self) -> LimitedGateway:
        open_files = self.open_files

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [PYTHON, "-m", "gateway", "run", "--config", str(self.config)],
                stderr=log,
                env=_env(),
                preexec_fn=limit,  # noqa: PLW1509 - no threads in the test process fork path
            )
        return self


def devices(ports: dict[str, int]) -> str:
    def entry(device_id: str, kind: str, options: str = "") -> str:
        return (
            f'[[devices]]\nid = "{device_id}"\nkind = "{kind}"\n'
            f'connection = "listen://127.0.0.1:{ports[device_id]}"\n'
            f"[devices.options]\n{options}\n"
        )

    return (
        entry(STEADY, "hl7-analyzer")
        + entry("victim-hl7", "hl7-analyzer", "read_timeout_s = 2")
        + entry(
            "victim-astm",
            "astm-analyzer",
            "host_query = false\nmax_message_frames = 50\nmessage_timeout_s = 8",
        )
        + entry("victim-scanner", "serial-scanner", "idle_timeout_s = 5")
        + entry("victim-monitor", "hl7-monitor", 'read_timeout_s = 2\nforward = "every"')
    )


def control_id(envelope: dict[str, Any]) -> str | None:
    raw = envelope.get("raw") or {}
    if envelope["device_id"] != STEADY or raw.get("encoding") != "text":
        return None
    fields = raw["data"].split("\r", 1)[0].split("|")
    return fields[9] if len(fields) > 9 else None


def rss_and_fds(pid: int) -> tuple[float, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Outcome:
    steady: hostile.SteadySender
    seen: list[dict[str, Any]]
    accounting: Accounting
    rss_growth_mib: float
    peak_fds: int
    log_bytes: int
    dropped: dict[str, float]
    victims_after: tuple[str, str]
    stop_code: int

    def report(self) -> str:
        per_phase = {
            phase: f"{len(self.steady.answers(phase))} answers, "
            f"p99 {self.steady.p99(phase) * 1000:.0f} ms, "
            f"max {max(self.steady.answers(phase), default=0) * 1000:.0f} ms"
            for phase in self.steady.latencies
        }
        return (
            f"{len(self.seen)} round(s); steady {per_phase}; {self.accounting.report()}; "
            f"RSS +{self.rss_growth_mib:.1f} MiB; peak fds {self.peak_fds}; "
            f"log {self.log_bytes} bytes; victim-hl7 dropped {self.dropped}"
        )

    def check_bounded(self) -> None:
        """What every hostile run must leave true, whatever the attack."""
        assert self.stop_code == 0, "SIGTERM did not stop the gateway cleanly"
        assert self.victims_after == ("AR/AA", "AFTER-STRAY")  # the victims still answer
        assert not self.steady.failures
        assert self.accounting.lost_total == 0, self.accounting.lost
        assert self.rss_growth_mib < RSS_GROWTH_LIMIT_MIB
        assert self.peak_fds < OPEN_FILES_LIMIT - 32
        assert self.log_bytes < LOG_LIMIT_BYTES
        assert self.steady.p99() < P99_LIMIT_S, self.report()


async def run_hostile(
    tmp_path: Path, mosquitto: Mosquitto, attacks: Callable[..., Awaitable[None]]
) -> Outcome:
    """Start everything, run ``attacks`` (rounds of them for ``WARDLINK_HOSTILE_S``), measure."""
    names = [STEADY, *VICTIMS]
    ports = {name: free_port() for name in names}
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    config = write_config(tmp_path / "gw", mosquitto.url, devices=devices(ports))
    log = tmp_path / "gateway.log"
    with LimitedGateway(config, log) as gateway:
        gateway.start()
        await asyncio.to_thread(gateway.wait_up)
        for port in ports.values():
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        rss_start, _ = rss_and_fds(gateway.pid)
        steady = hostile.SteadySender(ports[STEADY])
        streaming = asyncio.create_task(steady.run())
        samples: list[tuple[float, int]] = []

        async def sample() -> None:
            while True:
                samples.append(rss_and_fds(gateway.pid))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        end = time.monotonic() + HOSTILE_S
        seen: list[dict[str, Any]] = []
        while not seen or time.monotonic() < end:
            seen.append({"gateway": gateway})
            await attacks(steady, ports, seen[-1])
            seen[-1].pop("gateway", None)
        steady.stop()
        await streaming
        sampler.cancel()
        victims_after = await hostile.hl7_stray_block_byte(ports["victim-hl7"])
        await async_wait_for(
            lambda: steady.acked <= {control_id(e) for e in consumer.envelopes()},
            120,
            "every acknowledged steady result at the consumer",
        )
        dropped = {
            reason: gateway.metric(
                "wardlink_connections_dropped_total",
                f'device="victim-hl7",kind="hl7-analyzer",reason="{reason}"',
            )
            for reason in ("cap_evicted_idle", "cap_refused", "message_deadline")
        }
        stop_code = await asyncio.to_thread(gateway.stop)
    consumer.stop()
    outcome = Outcome(
        steady=steady,
        seen=seen,
        accounting=account({STEADY: steady.acked}, consumer.envelopes(), control_id),
        rss_growth_mib=max(rss for rss, _ in samples) - rss_start,
        peak_fds=max(fds for _, fds in samples),
        log_bytes=log.stat().st_size,
        dropped=dropped,
        victims_after=victims_after,
        stop_code=stop_code,
    )
    print(f"\nhostile {attacks.__name__}: {outcome.report()}")
    return outcome
