"""ASTM end to end into the gateway: messages and records per second, each durably committed.

The analyzer simulator sends the 24-record message of :mod:`bench.astm` (a fresh specimen id
each time, so nothing is a resend) in E1381 frames, one ENQ…EOT session per message, and waits
for the ACK of the last frame, which the gateway sends only after the commit. Over TCP, and over
a pty paced to 9600 and 115200 baud: a pty itself has no line speed, so the simulator's side
sleeps ten bit times per byte (8N1) after writing and after reading, which is what a real
RS-232 line costs in each direction. The gateway runs as ``wardlink run`` in its own process.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.astm import SYNTHETIC
from tests.hardware_sim.astm_analyzer import AnalyzerSimulator
from tests.hardware_sim.broker import free_port, wait_for_port
from tests.hardware_sim.pty_pair import PtyPair

BITS_PER_BYTE = 10  # start, 8 data, stop


class PacedPty:
    """A pty that costs what a serial line at ``baud`` would, in both directions."""

    def __init__(self, pair: PtyPair, baud: int) -> None:
        self._pair = pair
        self._byte_s = BITS_PER_BYTE / baud

    async def write(self, data: bytes) -> None:
        await self._pair.write(data)
        await asyncio.sleep(len(data) * self._byte_s)

    async def read(self, max_bytes: int = 65536) -> bytes:
        data = await self._pair.read(max_bytes)
        await asyncio.sleep(len(data) * self._byte_s)
        return data

    @property
    def peer(self) -> str:
        return self._pair.peer

    async def close(self) -> None:
        """Leave the cable plugged: the next case runs over the same port."""


def _message(n: int) -> list[bytes]:
    return [line.replace("S-1001", f"S-{n:06d}").encode() for line in SYNTHETIC]


async def _drive(simulator: AnalyzerSimulator, first: int, count: int) -> float:
    start = time.perf_counter()
    for n in range(first, first + count):
        outcome = await simulator.send(_message(n))
        if not outcome.completed:
            raise RuntimeError(f"message {n} not acknowledged: {outcome.reason}")
    elapsed = time.perf_counter() - start
    await simulator.close()
    return count / elapsed


async def _tcp(port: int, count: int) -> float:
    return await _drive(await AnalyzerSimulator.connect("127.0.0.1", port), 0, count)


async def _pty(pair: PtyPair, baud: int, first: int, count: int) -> float:
    return await _drive(AnalyzerSimulator(PacedPty(pair, baud)), first, count)


def _config(work: Path, port: int, pty: str) -> Path:
    config = work / "astm-session.toml"
    config.write_text(
        'config_version = 1\n[gateway]\nsite = "bench"\nward = "lab"\nid = "gw-astm"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'  # no broker: intake only
        f'[store]\npath = "{work / "astm-outbox.db"}"\nquota_mb = 4096\n'
        f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
        '[[devices]]\nid = "astm-tcp"\nkind = "astm-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
        '[[devices]]\nid = "astm-serial"\nkind = "astm-analyzer"\n'
        f'connection = "serial://{pty}"\n'
    )
    return config


def session_rates(work: Path, messages: int) -> list[tuple[str, str]]:
    """Rows for TCP and a paced pty at 115200 and 9600 baud (fewer messages: 1.7 s each)."""
    records = len(SYNTHETIC)
    port = free_port()
    rows = []
    with PtyPair(work) as pair:
        config = _config(work, port, pair.path)
        command = ["-m", "gateway", "--log-level", "warning", "run", "--config", str(config)]
        gateway = subprocess.Popen([sys.executable, *command])
        try:
            wait_for_port("127.0.0.1", port)
            time.sleep(1.0)  # the serial device opens the pty alongside
            cases = [
                ("TCP", lambda: _tcp(port, messages)),
                ("pty at 115200 baud", lambda: _pty(pair, 115_200, 10**5, max(5, messages // 5))),
                ("pty at 9600 baud", lambda: _pty(pair, 9_600, 2 * 10**5, 3)),
            ]
            for what, run in cases:
                rate = asyncio.run(run())
                rows.append(
                    (
                        f"ASTM E1381 end to end, durable ACK: wardlink, {what}",
                        f"{rate:,.1f} msg/s = {rate * records:,.0f} records/s",
                    )
                )
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=60)
    return rows
