"""An HL7 analyzer that keeps sending, and reconnects whenever its link is refused or dropped.

A real analyzer's interface retries until the LIS port answers again; this one does the same,
so a test can stop a device in the gateway and watch the analyzer come back when it starts.
It counts what the gateway acknowledged, its connections, refusals and dropped links.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass

from drivers.base import DriverError, OpenFailedError
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru


@dataclass
class KeepSending:
    host: str
    port: int
    name: str
    """Prefix of the messages' control ids (MSH-10) and the seed of their content."""
    interval_s: float = 0.05
    retry_s: float = 0.1
    acked: int = 0
    """Messages answered AA: committed by the gateway."""
    negative: int = 0
    connections: int = 0
    refused: int = 0
    dropped: int = 0

    async def run(self) -> None:
        """Send until cancelled."""
        rng = random.Random(self.name)
        numbers = itertools.count(1)
        while True:
            try:
                sender = await Hl7Sender.connect(self.host, self.port)
            except OpenFailedError:
                self.refused += 1
                await asyncio.sleep(self.retry_s)
                continue
            self.connections += 1
            try:
                while True:
                    ack = await sender.send(synthetic_oru(rng, f"{self.name}-{next(numbers)}"))
                    if ack.code == "AA":
                        self.acked += 1
                    else:
                        self.negative += 1
                    await asyncio.sleep(self.interval_s)
            except (OSError, DriverError):  # closed, reset, or no answer in time
                self.dropped += 1
            finally:
                await sender.close()
