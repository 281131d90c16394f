"""A serial-scanner (run_device) against the scanner simulator over real TCP and a real pty.

The Intake here is a small recording implementation written for the test (a collaborator, not
a mock of a library). Tests wait on conditions with generous timeouts and never assert durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from adapters.astm.unread import Position
from adapters.canonical.events import CanonicalEvent, DeviceState, Identification, OrderQuery
from adapters.canonical.orders import OrderReply
from drivers import tcp
from drivers.backoff import Backoff
from drivers.base import ByteStream, OpenFailedError
from gateway.devices.intake import ConnectionDropReason
from gateway.devices.run import DeviceConfig, run_device
from tests.hardware_sim.pty_pair import PtyPair
from tests.hardware_sim.scanner import Faults, ScannerSim, cccd_qr, gs1_pack, specimen_label

TIMEOUT = 20.0
CCCD = "001190012345||Nguyễn Thị An|05031992|Nữ|Số 7 Đường Thử Nghiệm, Hà Nội|12082022".encode()


class StoreFullError(Exception):
    """Stands in for edge_store's error: what a full outbox raises from submit."""


class RecordingIntake:
    def __init__(self, refuse_first: int = 0) -> None:
        self.events: list[tuple[str, Identification, bytes | None]] = []
        self.states: list[tuple[DeviceState, str | None]] = []
        self.rejected: list[str] = []
        self.dropped: list[str] = []
        self._refuse = refuse_first
        self._changed = asyncio.Event()

    async def submit(
        self,
        device_id: str,
        event: CanonicalEvent,
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
    ) -> str:
        if self._refuse:
            self._refuse -= 1
            self._changed.set()
            raise StoreFullError("outbox quota reached")
        assert isinstance(event, Identification)
        self.events.append((device_id, event, raw))
        self._changed.set()
        return f"id-{len(self.events)}"

    async def submit_many(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
        message_key: str | None = None,
    ) -> list[str]:
        return [await self.submit(device_id, e, raw=raw, device_time=device_time) for e in events]

    async def ask_host(
        self, device_id: str, query: OrderQuery, *, raw: bytes | None, timeout_s: float
    ) -> OrderReply | None:
        raise AssertionError("a scanner never asks the host")

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        self.states.append((state, detail))
        self._changed.set()

    def count_unread_fields(self, device_id: str, unread: Mapping[Position, int]) -> None:
        raise AssertionError("a scanner sends no ASTM records")

    def count_rejected(self, device_id: str, reason: str, raw: bytes | None = None) -> None:
        self.rejected.append(reason)
        self._changed.set()

    def count_connection_dropped(self, device_id: str, reason: ConnectionDropReason) -> None:
        self.dropped.append(reason)
        self._changed.set()

    def count_state(self, state: DeviceState) -> int:
        return sum(1 for seen, _ in self.states if seen is state)

    @property
    def raws(self) -> list[bytes | None]:
        return [raw for _, _, raw in self.events]

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async def poll() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(poll(), TIMEOUT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fast_backoff() -> Backoff:
    return Backoff(minimum=0.01, maximum=0.05, rng=random.Random(1))


@contextlib.asynccontextmanager
async def running(
    connection: str, intake: RecordingIntake, backoff: Backoff | None = None
) -> AsyncIterator[None]:
    device = DeviceConfig(id="ward-scanner-1", kind="serial-scanner", connection=connection)
    task = asyncio.create_task(run_device(device, intake, backoff=backoff or fast_backoff()))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def connect_when_listening(port: int) -> ByteStream:
    async def attempt() -> ByteStream:
        while True:
            try:
                return await tcp.connect("127.0.0.1", port)
            except OpenFailedError:
                await asyncio.sleep(0.01)

    return await asyncio.wait_for(attempt(), TIMEOUT)


def sample_scans(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    makers = [specimen_label, cccd_qr, gs1_pack]
    return [makers[n % 3](rng) for n in range(count)] + [CCCD]


async def play(
    scans: Iterable[bytes], stream: ByteStream | PtyPair, faults: Faults | None = None
) -> None:
    await ScannerSim(scans, faults=faults, rng=random.Random(3)).play(stream)


async def test_listen_accepts_several_scanners_and_decodes_every_scan() -> None:
    intake = RecordingIntake()
    port = free_port()
    first, second = sample_scans(9, seed=1), sample_scans(9, seed=2)
    async with running(f"listen://127.0.0.1:{port}", intake):
        streams = [await connect_when_listening(port) for _ in range(2)]
        await asyncio.gather(
            play(first, streams[0], faults=Faults(split_writes=True)),
            play(second, streams[1], faults=Faults(split_writes=True)),
        )
        await intake.wait_until(lambda: len(intake.events) == len(first) + len(second))
        for stream in streams:
            await stream.close()
        await intake.wait_until(lambda: intake.count_state(DeviceState.DISCONNECTED) == 2)

    assert sorted(raw or b"" for raw in intake.raws) == sorted(first + second)
    by_raw = {raw: event for _, event, raw in intake.events}
    person = by_raw[CCCD].person
    assert person is not None
    assert person.name == "Nguyễn Thị An"
    assert {event.symbology for _, event, _ in intake.events} == {"code128", "cccd-qr", "gs1"}
    assert [state for state, _ in intake.states] == [
        DeviceState.DISCONNECTED,  # listening, nobody connected yet
        DeviceState.CONNECTED,
        DeviceState.DISCONNECTED,
    ]


async def test_overlong_and_garbage_scans_are_counted_and_the_rest_arrive() -> None:
    intake = RecordingIntake()
    port = free_port()
    scans = [specimen_label(random.Random(n)) for n in range(6)]
    async with running(f"listen://127.0.0.1:{port}", intake):
        stream = await connect_when_listening(port)
        await play(scans, stream, faults=Faults(overlong_every=3, garbage_every=2))
        await intake.wait_until(lambda: len(intake.events) == 4 and len(intake.rejected) == 5)
        await stream.close()
    assert sorted(intake.rejected) == ["overlong"] * 2 + ["undecodable"] * 3
    assert intake.raws == [scans[0], scans[1], scans[3], scans[4]]


async def test_tcp_connect_reconnects_after_the_scanner_drops() -> None:
    intake = RecordingIntake()
    scans = sample_scans(6)
    async with (
        tcp.listen("127.0.0.1", 0) as scanner,
        running(f"tcp://127.0.0.1:{scanner.port}", intake),
    ):
        accepted = aiter(scanner)
        await play(scans[:3], await anext(accepted), faults=Faults(disconnect_after=3))
        await intake.wait_until(lambda: intake.count_state(DeviceState.DISCONNECTED) == 1)
        second = await asyncio.wait_for(anext(accepted), TIMEOUT)
        await play(scans[3:], second)
        await intake.wait_until(lambda: len(intake.events) == len(scans))
        await second.close()
    assert intake.raws == scans
    assert [state for state, _ in intake.states[:3]] == [
        DeviceState.CONNECTED,
        DeviceState.DISCONNECTED,
        DeviceState.CONNECTED,
    ]


async def test_unreachable_scanner_is_reported_once_then_connects_when_it_appears() -> None:
    intake = RecordingIntake()
    port = free_port()
    backoff = fast_backoff()
    async with running(f"tcp://127.0.0.1:{port}", intake, backoff):
        await intake.wait_until(lambda: intake.count_state(DeviceState.ERROR) == 1)
        await asyncio.wait_for(_until(lambda: backoff.attempts >= 5), TIMEOUT)
        assert intake.count_state(DeviceState.ERROR) == 1
        async with tcp.listen("127.0.0.1", port) as scanner:
            stream = await asyncio.wait_for(anext(aiter(scanner)), TIMEOUT)
            await play([CCCD], stream)
            await intake.wait_until(lambda: len(intake.events) == 1)
            await stream.close()
    assert intake.states[-1][0] in {DeviceState.CONNECTED, DeviceState.DISCONNECTED}


async def test_pty_unplug_and_replug_resume_without_restarting_the_runner(tmp_path: Path) -> None:
    intake = RecordingIntake()
    scans = sample_scans(6)
    with PtyPair(tmp_path) as pair:
        async with running(f"serial://{pair.path}?baudrate=9600", intake):
            await intake.wait_until(lambda: intake.count_state(DeviceState.CONNECTED) == 1)
            await play(scans[:3], pair, faults=Faults(split_writes=True))
            await intake.wait_until(lambda: len(intake.events) == 3)

            pair.unplug()
            await intake.wait_until(lambda: intake.count_state(DeviceState.DISCONNECTED) == 1)
            pair.replug()
            await intake.wait_until(lambda: intake.count_state(DeviceState.CONNECTED) == 2)
            await play(scans[3:], pair)
            await intake.wait_until(lambda: len(intake.events) == len(scans))
    assert intake.raws == scans


async def test_store_full_does_not_stop_the_runner_nor_log_the_scan(
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake = RecordingIntake(refuse_first=2)
    port = free_port()
    scans = [CCCD, *sample_scans(3)]
    with caplog.at_level(logging.DEBUG, logger="gateway.devices.scanner"):
        async with running(f"listen://127.0.0.1:{port}", intake):
            stream = await connect_when_listening(port)
            await play(scans, stream)
            await intake.wait_until(lambda: len(intake.events) == len(scans) - 2)
            await stream.close()
    # Refusals are counted by the pipeline (intake_refused_total), not as malformed input.
    assert intake.rejected == []
    assert intake.raws == scans[2:]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("StoreFullError" in message for message in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Nguyễn" not in logged
    assert "001190012345" not in logged


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)
