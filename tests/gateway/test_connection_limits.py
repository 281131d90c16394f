"""Issue 11, defect 3: a listening device holds at most ``max_connections``, idle ones end.

Before the fix every accepted connection was kept until its peer left: 1,100 idle scanner
connections exhausted the process's descriptors and took every device down. Seen from the
wire here: which client sockets the gateway closes, and which scans still arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from adapters.canonical.events import DeviceState
from adapters.scanners.kind import ScannerOptions
from gateway.devices import connections
from gateway.devices.run import DeviceConfig, run_device
from tests.gateway.test_scanner_runner import (
    TIMEOUT,
    RecordingIntake,
    connect_when_listening,
    fast_backoff,
    free_port,
)

LABEL = b"SID0001234\r"


@contextlib.asynccontextmanager
async def scanner_on(port: int, intake: RecordingIntake, **options: float) -> AsyncIterator[None]:
    device = DeviceConfig(
        id="ward-scanner-1",
        kind="serial-scanner",
        connection=f"listen://127.0.0.1:{port}",
        options=ScannerOptions(**options),
    )
    task = asyncio.create_task(run_device(device, intake, backoff=fast_backoff()))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def closed_by_gateway(reader: asyncio.StreamReader) -> bool:
    """Whether the gateway has closed this client's connection (EOF or reset)."""
    try:
        return await asyncio.wait_for(reader.read(1), 0.05) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def wait_closed(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(1), TIMEOUT) == b""


async def listening(port: int, intake: RecordingIntake) -> None:
    """Wait until the device listens, with the probing connection gone again."""
    await (await connect_when_listening(port)).close()
    await intake.wait_until(lambda: intake.count_state(DeviceState.DISCONNECTED) == 2)


async def open_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)


async def test_at_the_cap_the_quietest_connection_makes_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "EVICTABLE_AFTER_S", 0.0, raising=False)
    intake, port = RecordingIntake(), free_port()
    async with scanner_on(port, intake, max_connections=3):
        await listening(port, intake)
        clients = [await open_client(port) for _ in range(3)]
        await asyncio.sleep(0.1)  # let the gateway take all three before the next comes
        newest = await open_client(port)
        await wait_closed(clients[0][0])  # the quietest: the oldest, silent
        await intake.wait_until(lambda: intake.dropped == ["cap_evicted_idle"])
        for _, writer in (*clients[1:], newest):
            writer.write(LABEL)
        await intake.wait_until(lambda: len(intake.events) == 3)
        assert not [c for c, _ in clients[1:] if await closed_by_gateway(c)]
        for _, writer in (*clients, newest):
            writer.close()


async def test_when_every_connection_is_busy_the_new_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "EVICTABLE_AFTER_S", 3600.0, raising=False)
    intake, port = RecordingIntake(), free_port()
    async with scanner_on(port, intake, max_connections=2):
        await listening(port, intake)
        busy = [await open_client(port) for _ in range(2)]
        refused_reader, refused_writer = await open_client(port)
        await wait_closed(refused_reader)
        assert intake.dropped == ["cap_refused"]
        for _, writer in busy:
            writer.write(LABEL)
        await intake.wait_until(lambda: len(intake.events) == 2)
        for _, writer in (*busy, (refused_reader, refused_writer)):
            writer.close()


async def test_a_flood_of_connections_never_holds_more_than_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "EVICTABLE_AFTER_S", 0.0, raising=False)
    intake, port = RecordingIntake(), free_port()
    cap, flood = 16, 200
    async with scanner_on(port, intake, max_connections=cap):
        await listening(port, intake)
        clients = []
        for _ in range(flood):
            clients.append(await open_client(port))
        await intake.wait_until(lambda: len(intake.dropped) == flood - cap)
        still_open = [w for r, w in clients if not await closed_by_gateway(r)]
        assert len(still_open) == cap
        assert set(intake.dropped) == {"cap_evicted_idle"}
        still_open[-1].write(LABEL)  # the gateway still serves the device
        await intake.wait_until(lambda: len(intake.events) == 1)
        for _, writer in clients:
            writer.close()


async def test_a_silent_scanner_connection_is_closed_at_the_idle_timeout() -> None:
    intake, port = RecordingIntake(), free_port()
    async with scanner_on(port, intake, idle_timeout_s=0.5):
        await listening(port, intake)
        reader, writer = await open_client(port)
        writer.write(b"SID00")  # half a scan, then nothing
        await wait_closed(reader)
        await intake.wait_until(lambda: intake.dropped == ["idle_timeout"])
        assert intake.events == []  # the partial scan is dropped, never guessed complete
        writer.close()
