"""HL7 figures: parse cost next to hl7apy and python-hl7, and ACKed messages/s over MLLP.

The MLLP rows drive a real ``wardlink run`` (an hl7-analyzer device; one durable commit before
every AA) and, as the peer, python-hl7's own asyncio MLLP server (parse and ACK, nothing
stored), with the same sender: each connection waits for its ACK before the next message, as
analyzers do.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import hl7
import hl7.mllp
from hl7apy.parser import parse_message as hl7apy_parse

from adapters.hl7.parse import parse_message
from tests.hardware_sim.broker import free_port, wait_for_port
from tests.hardware_sim.hl7_sender import Hl7Sender

FIXTURE = (
    Path(__file__).resolve().parents[1] / "tests" / "corpus" / "hl7" / "oru_r01_lab_20_obx.hl7"
)


def parse_rates() -> list[tuple[str, str]]:
    raw = FIXTURE.read_bytes()
    text = raw.decode()
    rows = []
    for name, parse, seconds in [
        ("parse 20-OBX ORU^R01: wardlink (hot path)", lambda: parse_message(raw), 2.0),
        ("parse 20-OBX ORU^R01: python-hl7 0.4.5", lambda: hl7.parse(text), 2.0),
        ("parse 20-OBX ORU^R01: hl7apy 1.3.5", lambda: hl7apy_parse(text), 3.0),
    ]:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            parse()
            count += 1
        rows.append((name, f"{count / (time.perf_counter() - started):,.0f} msg/s"))
    return rows


def _message(n: int) -> bytes:
    return FIXTURE.read_bytes().replace(b"|LAB-20-1|", f"|B{n:08d}|".encode(), 1)


async def _drive(port: int, connections: int, per_connection: int, *, first: int = 0) -> float:
    senders = [await Hl7Sender.connect("127.0.0.1", port) for _ in range(connections)]
    messages = [
        [_message(first + c * per_connection + i) for i in range(per_connection)]
        for c in range(connections)
    ]

    async def run(sender: Hl7Sender, batch: list[bytes]) -> None:
        for message in batch:
            ack = await sender.send(message, timeout_s=60)
            if ack.code not in ("AA", "CA"):
                msg = f"unexpected {ack.code}: {ack.text}"
                raise RuntimeError(msg)

    started = time.perf_counter()
    await asyncio.gather(*(run(s, m) for s, m in zip(senders, messages, strict=True)))
    elapsed = time.perf_counter() - started
    for sender in senders:
        await sender.close()
    return connections * per_connection / elapsed


def _gateway_config(work: Path, port: int) -> Path:
    config = work / "wardlink.toml"
    config.write_text(
        'config_version = 1\n[gateway]\nsite = "bench"\nward = "lab"\nid = "gw-bench"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'  # no broker: intake only
        f'[store]\npath = "{work / "outbox.db"}"\nquota_mb = 4096\n'
        f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[[devices]]\nid = "analyzer"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
        # The 50-connection run needs more than the default cap of 16 connections per device.
        "[devices.options]\nmax_connections = 64\n"
    )
    return config


def mllp_rates(work: Path, messages: int) -> list[tuple[str, str]]:
    rows = []
    port = free_port()
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--log-level",
            "warning",
            "run",
            "--config",
            str(_gateway_config(work, port)),
        ],
    )
    try:
        wait_for_port("127.0.0.1", port)
        for run, connections in enumerate((1, 50)):
            # Each run sends new control ids: the same message again is a resend, which the
            # gateway acknowledges without storing it, and would measure nothing.
            first = run * messages
            rate = asyncio.run(
                _drive(port, connections, max(1, messages // connections), first=first)
            )
            rows.append(
                (
                    f"MLLP ACKed, durable commit each: wardlink, {connections} conn",
                    f"{rate:,.0f} msg/s",
                )
            )
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
    for connections in (1, 50):
        rate = asyncio.run(_peer_rate(connections, max(1, messages // connections)))
        rows.append(
            (
                f"MLLP ACKed, nothing stored: python-hl7 server, {connections} conn",
                f"{rate:,.0f} msg/s",
            )
        )
    return rows


async def _peer_rate(connections: int, per_connection: int) -> float:
    async def handle(reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                writer.writemessage(message.create_ack())
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    port = free_port()
    server = await hl7.mllp.start_hl7_server(handle, host="127.0.0.1", port=port)
    async with server:
        return await _drive(port, connections, per_connection)
