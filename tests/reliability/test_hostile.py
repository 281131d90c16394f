"""Acceptance 2 of issue 11: hostile input on every listener kind while another device streams.

A real gateway process (with a deliberately low open-files limit, so a descriptor leak or an
uncapped listener shows), a real Mosquitto and a consumer. Four victim devices, one per
listener kind (hl7-analyzer, astm-analyzer, serial-scanner on listen://, hl7-monitor), are fed
seeded random bytes, oversized frames, trickled frames and floods of connections far above the
cap, one attack after another, while a fifth device (an HL7 analyzer) sends results on its own
port and times every answer. Then: that device's p99 answer time is under 1 s (a product
requirement), everything it was acknowledged for reached the consumer, the gateway's RSS, open
descriptors and log stayed bounded, the victims still answer, and SIGTERM stops it cleanly.

``WARDLINK_HOSTILE_S`` repeats the rounds of attacks for that long (one round in
``make test``, about a minute; ``make soak`` runs it for 600 s).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.harness import PYTHON, ConsumerProcess, _env, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.reliability import hostile_peers as hostile
from tests.reliability.accounting import Accounting, account
from tests.reliability.kill_harness import GatewayProcess

HOSTILE_S = float(os.environ.get("WARDLINK_HOSTILE_S", "0"))
OPEN_FILES_LIMIT = 256
"""The gateway's RLIMIT_NOFILE here: 5 caps of 16 fit; one uncapped flood of 200 does not."""
P99_LIMIT_S = 1.0
SAMPLES_PER_PHASE = 100
RSS_GROWTH_LIMIT_MIB = 80.0
"""Messages are capped at 1 MiB; a 4 MiB frame or 9,000 frames must never be held whole."""
LOG_LIMIT_BYTES = 1 << 20
NOISE_BYTES = 1 << 20
"""Per victim, all four at once: the issue's 1 MiB of noise on an ASTM port, on every kind."""
NOISE_PHASE_LIMIT_S = 120.0
STEADY = "steady-analyzer"
VICTIMS = ("victim-hl7", "victim-astm", "victim-scanner", "victim-monitor")
T = TypeVar("T")


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


async def during(
    steady: hostile.SteadySender,
    phase: str,
    attack: Callable[[], Awaitable[T]],
) -> T:
    """Run ``attack``, again while the steady device has fewer than SAMPLES_PER_PHASE answers
    in this phase (so each phase's p99 rests on enough answers); the first run's result."""
    steady.phase = phase
    before = len(steady.answers(phase))
    result = await attack()
    while len(steady.answers(phase)) - before < SAMPLES_PER_PHASE:
        await attack()
    return result


async def framing_attacks(
    steady: hostile.SteadySender, ports: dict[str, int], seen: dict[str, Any]
) -> None:
    """Oversized, trickled and flooded, phase by phase; what the attackers saw into ``seen``."""

    async def oversized() -> None:
        seen["hl7 oversized answer"] = await hostile.hl7_oversized(ports["victim-hl7"])
        seen["monitor oversized answer"] = await hostile.hl7_oversized(ports["victim-monitor"])
        seen["stray 0x1C then valid"] = await hostile.hl7_stray_block_byte(ports["victim-hl7"])
        seen["astm frames without L"] = await hostile.astm_frames_without_end(
            ports["victim-astm"], 100
        )

    async def trickles() -> None:
        frame = hostile.one_hl7_frame("TRICKLE")
        (
            seen["hl7 trickle cut"],
            seen["monitor trickle cut"],
            seen["astm trickle cut"],
        ) = await asyncio.gather(
            hostile.trickle(ports["victim-hl7"], frame, gap_s=0.3, budget_s=30),
            hostile.trickle(ports["victim-monitor"], frame, gap_s=0.3, budget_s=30),
            hostile.astm_trickled_frames(ports["victim-astm"], gap_s=1.0, budget_s=30),
        )

    async def floods() -> None:
        for victim in VICTIMS:
            seen[f"{victim} flood closed"] = await hostile.flood(ports[victim])

    await during(steady, "oversized", oversized)
    await during(steady, "trickle", trickles)
    await during(steady, "flood", floods)


async def noise_attacks(
    steady: hostile.SteadySender, ports: dict[str, int], seen: dict[str, Any]
) -> None:
    """Seeded random bytes on every victim at once; the phase lasts until the gateway has read
    them all (its reject count stands still), so the steady answers measure that work."""
    gateway: GatewayProcess = seen.pop("gateway")

    def rejected() -> float:
        return sum(
            gateway.metric("wardlink_intake_rejected_total", f'device="{victim}"')
            for victim in VICTIMS
        )

    steady.phase = "noise"
    await asyncio.gather(
        *(
            hostile.random_bytes(ports[victim], n, size=NOISE_BYTES)
            for n, victim in enumerate(VICTIMS)
        )
    )
    last, still_since, give_up = -1.0, time.monotonic(), time.monotonic() + NOISE_PHASE_LIMIT_S
    while time.monotonic() - still_since < 2.0 and time.monotonic() < give_up:
        try:
            now = await asyncio.to_thread(rejected)
        except OSError:  # a timeout included: the control surface is stalled, still busy
            now = -2.0
        if now != last:
            last, still_since = now, time.monotonic()
        await asyncio.sleep(0.25)
    seen["noise rejects"] = last


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


async def test_oversized_trickled_and_flooded_listeners_do_not_hurt_another_device(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    outcome = await run_hostile(tmp_path, mosquitto, framing_attacks)
    first = outcome.seen[0]
    assert first["hl7 oversized answer"].startswith(b"\x0bMSH")
    assert b"MSA|AR" in first["hl7 oversized answer"]
    assert b"MSA|AR" in first["monitor oversized answer"]
    assert first["stray 0x1C then valid"] == ("AR/AA", "AFTER-STRAY")
    assert first["astm frames without L"] == hostile.ACK * 51 + hostile.NAK  # ENQ, 50, refused
    assert first["hl7 trickle cut"]
    assert first["monitor trickle cut"]
    assert first["astm trickle cut"]
    for victim in VICTIMS:
        cap = 64 if victim == "victim-monitor" else 16  # the kinds' default max_connections
        assert first[f"{victim} flood closed"] >= hostile.FLOOD - cap
    assert outcome.dropped["cap_evicted_idle"] + outcome.dropped["cap_refused"] > 0
    assert outcome.dropped["message_deadline"] > 0
    outcome.check_bounded()


async def test_random_bytes_on_every_listener_do_not_hurt_another_device(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # Thousands of rejects: their cost on the shared loop is issue 11's defect 5 (rejects
    # coalesced and written off the loop), which this test holds to the same promises.
    outcome = await run_hostile(tmp_path, mosquitto, noise_attacks)
    assert outcome.seen[0]["noise rejects"] > 0
    assert len(outcome.steady.answers("noise")) >= 20  # the phase lasted while noise was read
    outcome.check_bounded()
