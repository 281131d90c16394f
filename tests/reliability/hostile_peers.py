"""Hostile peers for every listener kind, and a steady sender that times each answer.

Each attack is deterministic (seeded bytes, fixed counts, one after another), so the load the
gateway sees is the same on every run; only the machine's speed varies. Every attack returns
what the attacker observed on the wire, for the test to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

from adapters.astm.frames import encode_frame as astm_frame
from adapters.mllp import encode_frame
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru

HOST = "127.0.0.1"
ENQ, ACK, NAK = b"\x05", b"\x06", b"\x15"
NOISE_BYTES = 256 * 1024
FLOOD = 200
"""Connections per flood: far above the default cap of 16 per listening device."""


@dataclass
class SteadySender:
    """An HL7 analyzer on its own port, sending result after result on one connection."""

    port: int
    prefix: str = "STEADY"
    phase: str = "start"
    """What the hostile peers are doing meanwhile; each answer time is filed under it."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        rng = random.Random(11)
        sender = await Hl7Sender.connect(HOST, self.port)
        n = 0
        try:
            while not self._stop.is_set():
                control_id = f"{self.prefix}{n:06d}"
                message = synthetic_oru(rng, control_id)
                started = time.monotonic()
                try:
                    ack = await sender.send(message, timeout_s=30)
                except (ConnectionError, TimeoutError) as exc:
                    self.failures.append(f"{control_id}: {exc!r}")
                    await sender.close()
                    sender = await Hl7Sender.connect(HOST, self.port)
                    continue
                self.latencies.setdefault(self.phase, []).append(time.monotonic() - started)
                if ack.code == "AA" and ack.control_id == control_id:
                    self.acked.add(control_id)
                n += 1
                await asyncio.sleep(0.02)
        finally:
            await sender.close()

    def stop(self) -> None:
        self._stop.set()

    def answers(self, *phases: str) -> list[float]:
        return [t for phase in phases or self.latencies for t in self.latencies.get(phase, [])]

    def p99(self, *phases: str) -> float:
        ordered = sorted(self.answers(*phases))
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


async def _connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _answered(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    """Whatever the gateway sends within ``timeout_s`` (``b""`` for nothing or EOF)."""
    try:
        return await asyncio.wait_for(reader.read(65536), timeout_s)
    except (TimeoutError, ConnectionError):
        return b""


async def closed_by_gateway(reader: asyncio.StreamReader, timeout_s: float) -> bool:
    try:
        while await asyncio.wait_for(reader.read(65536), timeout_s):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def random_bytes(port: int, seed: int, size: int = NOISE_BYTES) -> None:
    """``size`` bytes of seeded noise, in 4 KiB writes, then leave."""
    rng = random.Random(seed)
    _reader, writer = await _connection(port)
    try:
        for _ in range(size // 4096):
            writer.write(rng.randbytes(4096))
            await writer.drain()
    except ConnectionError:
        pass  # the gateway may close a connection that only sends noise
    finally:
        await _close(writer)


async def flood(port: int, count: int = FLOOD) -> int:
    """Open ``count`` connections and hold them; how many the gateway closed meanwhile."""
    clients = []
    try:
        for _ in range(count):
            clients.append(await _connection(port))
        closed = 0
        for reader, _ in clients:
            closed += await closed_by_gateway(reader, 0.01)
        return closed
    finally:
        for _, writer in clients:
            await _close(writer)


async def hl7_oversized(port: int) -> bytes:
    """A 4 MiB MLLP frame; the answer the gateway sends (an AR is expected)."""
    reader, writer = await _connection(port)
    try:
        head = synthetic_oru(random.Random(5), "HUGE")
        writer.write(b"\x0b" + head + b"NTE|1||" + b"x" * (4 << 20) + b"\r\x1c\r")
        await writer.drain()
        return await _answered(reader, 30)
    finally:
        await _close(writer)


async def hl7_stray_block_byte(port: int) -> tuple[str, str]:
    """A header with a stray 0x1C outside any frame, then a valid message: its (code, id)."""
    sender = await Hl7Sender.connect(HOST, port)
    try:
        await sender.send_raw(b"MSH|^~\\&|DEV|FAC|||20260101||ORU^R01|STRAY\x1c\r")
        stray = await sender.next_ack(timeout_s=30)
        ack = await sender.send(synthetic_oru(random.Random(6), "AFTER-STRAY"), timeout_s=30)
        return stray.code + "/" + ack.code, ack.control_id
    finally:
        await sender.close()


async def trickle(port: int, data: bytes, gap_s: float, budget_s: float) -> bool:
    """Send ``data`` a byte every ``gap_s``; whether the gateway cut us off within budget."""
    reader, writer = await _connection(port)
    started = time.monotonic()
    try:
        for byte in data:
            if time.monotonic() - started > budget_s:
                return False
            try:
                writer.write(bytes((byte,)))
                await writer.drain()
            except ConnectionError:
                return True
            if await closed_by_gateway(reader, gap_s):
                return True
        return False
    finally:
        await _close(writer)


async def astm_frames_without_end(port: int, frames: int) -> bytes:
    """ENQ, then ``frames`` result frames and never an L record: the answers, in order."""
    reader, writer = await _connection(port)
    answers = bytearray()
    try:
        writer.write(ENQ)
        answers += await _answered(reader, 30)
        record = b"R|1|^^^GLU|5.4|mmol/L||N||F\r"
        for n in range(frames):
            writer.write(astm_frame((n + 1) % 8, record, final=True))
            answer = await _answered(reader, 30)
            answers += answer
            if answer != ACK:
                break
        return bytes(answers)
    finally:
        await _close(writer)


async def astm_trickled_frames(port: int, gap_s: float, budget_s: float) -> bool:
    """One frame every ``gap_s`` with no L: whether a frame went unanswered within budget.

    Each frame is answered at once until the message deadline drops the message; the frame
    after that is outside any session, so it gets no answer at all.
    """
    reader, writer = await _connection(port)
    started = time.monotonic()
    try:
        writer.write(ENQ)
        await _answered(reader, 30)
        n = 1
        while time.monotonic() - started < budget_s:
            writer.write(astm_frame(n % 8, b"R|1|^^^GLU|5.4|mmol/L||N||F\r", final=True))
            if await _answered(reader, 5.0) == b"":
                return True  # the message was dropped: the frame is now outside a session
            n += 1
            await asyncio.sleep(gap_s)
        return False
    finally:
        await _close(writer)


def one_hl7_frame(control_id: str) -> bytes:
    return encode_frame(synthetic_oru(random.Random(7), control_id))
