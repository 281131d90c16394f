"""The full-disk test's devices: an HL7 analyzer that resends until AA, and an ASTM noise source.

:class:`ResendingAnalyzer` behaves as a lab analyzer: one message at a time, the same message
again after any answer but AA (the gateway answers AR when it cannot commit, ADR 0007), each
answer filed under the test's current phase. Its messages carry one specimen id each, the key
:func:`tests.reliability.accounting.specimen_key` reads back from the consumer's envelopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field

from drivers.base import DriverError
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru
from tests.reliability import hostile_peers as hostile

HOST = "127.0.0.1"


@dataclass
class ResendingAnalyzer:
    port: int
    phase: str = "start"
    acked: list[str] = field(default_factory=list)
    answers: dict[str, Counter[str]] = field(default_factory=dict)
    """Per phase: how many answers of each code (AA, AR, AE, or ``timeout``)."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def count(self, phase: str, code: str) -> int:
        return self.answers.get(phase, Counter())[code]

    def answered(self, phase: str) -> int:
        return sum(self.answers.get(phase, Counter()).values())

    async def run(self) -> None:
        rng = random.Random(20261202)
        sender = await Hl7Sender.connect(HOST, self.port)
        n = 0
        message = b""
        key = ""
        try:
            while not self._stop.is_set():
                if not message:
                    n += 1
                    key = f"FD{n:06d}"
                    message = synthetic_oru(rng, f"CTL{n:06d}", sample_id=key)
                phase = self.phase
                try:
                    ack = await sender.send(message, timeout_s=30)
                except (OSError, TimeoutError, DriverError):
                    self.answers.setdefault(phase, Counter())["timeout"] += 1
                    with contextlib.suppress(OSError, DriverError):
                        await sender.close()
                    sender = await Hl7Sender.connect(HOST, self.port)
                    continue  # the same message again, on a new connection
                self.answers.setdefault(phase, Counter())[ack.code] += 1
                if ack.code == "AA":
                    self.acked.append(key)
                    message = b""
                else:
                    await asyncio.sleep(0.05)  # an analyzer's retry pause
        finally:
            with contextlib.suppress(OSError, DriverError):
                await sender.close()

    def stop(self) -> None:
        self._stop.set()


async def astm_noise(port: int, stop: asyncio.Event, pause_s: float) -> int:
    """Bursts of seeded random bytes on an ASTM port (64 KiB, then ``pause_s`` of quiet) until
    ``stop``; how many bursts. A pause longer than the archive's ``quiet_s`` ends each burst of
    rejects, so the archive writes a record per burst instead of one every 30 s."""
    rounds = 0
    while not stop.is_set():
        rounds += 1
        await hostile.random_bytes(port, seed=rounds, size=64 * 1024)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause_s)
    return rounds
