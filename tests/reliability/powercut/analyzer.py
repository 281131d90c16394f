"""The device side of the power-cut test: HL7 analyzers that resend what was not acknowledged.

Each connection sends synthetic CBC results (one specimen id per message) and waits for the
acknowledgement, as a lab analyzer does. AA is the only answer that counts: the key is then
recorded as acknowledged. A message whose answer never came (the gateway died) is resent
first after the next connect, which is what a real analyzer does and what produces duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.base import DriverError
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru


@dataclass(frozen=True)
class Message:
    key: str
    data: bytes


@dataclass
class Analyzer:
    """``connections`` MLLP senders to one gateway port, with their unacknowledged messages."""

    port: int
    connections: int
    seed: int
    acked: list[str] = field(default_factory=list)
    resent: int = 0
    refused: int = 0
    """Answers other than AA (AR when the store could not commit): resent, never counted."""
    _pending: dict[int, Message] = field(default_factory=dict)
    _counter: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _next(self, connection: int) -> Message:
        self._counter += 1
        key = f"PC{self.seed % 1000:03d}-{self._counter:06d}"
        data = synthetic_oru(self._rng, f"C{connection}-{self._counter:06d}", sample_id=key)
        return Message(key, data)

    async def stream(self, on_ack: Callable[[], None], connect_timeout_s: float = 30.0) -> None:
        """Send on every connection until the gateway goes away (or the task is cancelled)."""
        await asyncio.gather(
            *(self._send_loop(n, on_ack, connect_timeout_s) for n in range(self.connections))
        )

    async def _send_loop(self, n: int, on_ack: Callable[[], None], timeout_s: float) -> None:
        sender = await _connect(self.port, timeout_s)
        if n in self._pending:
            self.resent += 1
        try:
            while True:
                message = self._pending.get(n)
                if message is None:
                    message = self._pending[n] = self._next(n)
                try:
                    ack = await sender.send(message.data, timeout_s=10)
                except (OSError, TimeoutError, DriverError):
                    return  # the plug was pulled: this message stays pending
                if ack.code == "AA":
                    self.acked.append(message.key)
                    del self._pending[n]
                    on_ack()
                else:
                    self.refused += 1
                    await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(OSError, DriverError):
                await sender.close()


async def _connect(port: int, timeout_s: float) -> Hl7Sender:
    """Connect once the (re)started gateway listens."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await Hl7Sender.connect("127.0.0.1", port)
        except DriverError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
