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

The random-bytes test also measures the reject archive, which writes a file for each reject on
the event loop. That is issue 11's defect 5 (rejects coalesced and written off the loop), fixed
on another branch. Until that fix lands, this test fails on the p99: in one run, 2.9 s with a
15 s stall. With rejects not kept it gave 142 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.hardware_sim.broker import Mosquitto
from tests.reliability import hostile_peers as hostile
from tests.reliability.hostile_run import VICTIMS, run_hostile
from tests.reliability.kill_harness import GatewayProcess

SAMPLES_PER_PHASE = 100
NOISE_BYTES = 1 << 20
"""Per victim, all four at once: the issue's 1 MiB of noise on an ASTM port, on every kind."""
NOISE_PHASE_LIMIT_S = 120.0
T = TypeVar("T")


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
