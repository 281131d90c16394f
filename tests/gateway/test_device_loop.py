"""The one driving loop (gateway/devices/loop.py) on real TCP streams, with small sessions.

What every kind relies on: an answer held by a Store leaves only after the commit returned, a
refused commit is told to the session, a silent connection closes at the idle limit, a stopped
device's session gets its bounded goodbye, and no byte sequence makes the loop raise. The
sessions here are the example kind of ADR 0018 and two written for a single behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.astm.unread import Position
from adapters.canonical.events import CanonicalEvent, DeviceState, OrderQuery
from adapters.canonical.orders import OrderReply
from adapters.kind import PreparedDevice
from adapters.session import DeviceSession, SessionBase, Store
from drivers import tcp
from drivers.base import ByteStream
from gateway.devices.intake import ConnectionDropReason
from gateway.devices.loop import drive
from tests.example_kind.kind import LineEchoSession

TIMEOUT = 20.0


class StoreRefusedError(Exception):
    """What a full outbox raises from submit, for these tests."""


class Intake:
    """A small recording intake; ``gate`` holds every commit until it is set."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.stored: list[bytes | None] = []
        self.rejected: list[str] = []
        self.dropped: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self._refuse = refuse

    async def submit_many(
        self,
        device_id: str,
        events: Sequence[CanonicalEvent],
        *,
        raw: bytes | None = None,
        device_time: datetime | None = None,
        message_key: str | None = None,
    ) -> list[str]:
        await self.gate.wait()
        if self._refuse:
            raise StoreRefusedError("outbox quota reached")
        self.stored.append(raw)
        return [str(len(self.stored))]

    async def submit(self, device_id: str, event: CanonicalEvent, **_: object) -> str:
        raise AssertionError("the loop commits whole messages")

    async def ask_host(
        self, device_id: str, query: OrderQuery, *, raw: bytes | None, timeout_s: float
    ) -> OrderReply | None:
        return None

    def report_state(self, device_id: str, state: DeviceState, detail: str | None = None) -> None:
        pass

    def count_rejected(self, device_id: str, reason: str, raw: bytes | None = None) -> None:
        self.rejected.append(reason)

    def count_unread_fields(self, device_id: str, unread: Mapping[Position, int]) -> None:
        pass

    def count_connection_dropped(self, device_id: str, reason: ConnectionDropReason) -> None:
        self.dropped.append(reason)


@contextlib.asynccontextmanager
async def served(
    session: DeviceSession, intake: Intake, idle_timeout_s: float | None = None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[None]]]:
    """One connection from a test client to the loop, over a real TCP socket."""
    prepared = PreparedDevice(new_session=lambda _peer: session, idle_timeout_s=idle_timeout_s)
    async with tcp.listen("127.0.0.1", 0) as listener:
        client = await asyncio.open_connection("127.0.0.1", listener.port)
        accepted: ByteStream = await anext(aiter(listener))
        task = asyncio.create_task(drive(accepted, "dev-1", prepared, intake))
        try:
            yield client[0], client[1], task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            client[1].close()


async def test_the_answer_leaves_only_after_the_commit_returned() -> None:
    intake = Intake()
    intake.gate.clear()
    async with served(LineEchoSession(64), intake) as (reader, writer, _):
        writer.write(b"T 4.5\n")
        with pytest.raises(TimeoutError):  # held: the commit has not returned
            async with asyncio.timeout(0.5):
                await reader.readline()
        assert intake.stored == []
        intake.gate.set()
        async with asyncio.timeout(TIMEOUT):
            assert await reader.readline() == b"T 4.5\n"
        assert intake.stored == [b"T 4.5"]


class NakOnRefusal(SessionBase):
    """Every byte is a message; ``+`` once stored, ``-`` when refused, with the reason kept."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals: list[str] = []

    def receive_data(self, data: bytes, now: float) -> None:
        for byte in data:
            self._emit(Store([], raw=bytes([byte]), ticket=byte))
            self._emit(Store([_event()], raw=bytes([byte]), ticket=byte))

    def stored(self, ticket: object, refused: str | None) -> None:
        if refused is not None:
            self.refusals.append(refused)
        self._send(b"-" if refused else b"+")


def _event() -> CanonicalEvent:
    from adapters.canonical.codes import CodedValue  # noqa: PLC0415
    from adapters.canonical.events import EnvironmentReading  # noqa: PLC0415

    return EnvironmentReading(quantity=CodedValue(code="t", system="local"), value=1)


async def test_a_refused_commit_is_told_to_the_session_with_its_reason() -> None:
    session = NakOnRefusal()
    async with served(session, Intake(refuse=True)) as (reader, writer, _):
        writer.write(b"x")
        async with asyncio.timeout(TIMEOUT):
            # An empty Store is "stored" at once; the one with an event is refused.
            assert await reader.readexactly(2) == b"+-"
    assert session.refusals == ["outbox quota reached"]


async def test_a_silent_connection_closes_at_the_idle_limit_and_is_counted() -> None:
    intake = Intake()
    async with served(LineEchoSession(64), intake, idle_timeout_s=0.2) as (reader, _, task):
        async with asyncio.timeout(TIMEOUT):
            assert await reader.read() == b""
            await task
    assert intake.dropped == ["idle_timeout"]


class SaysGoodbye(SessionBase):
    def receive_data(self, data: bytes, now: float) -> None:
        self._send(b"HI")

    def close(self, now: float) -> bool:
        self._send(b"BYE")
        return False  # nothing to wait for after it


async def test_a_stopped_device_says_goodbye_before_its_connection_closes() -> None:
    async with served(SaysGoodbye(), Intake()) as (reader, writer, task):
        writer.write(b"?")
        async with asyncio.timeout(TIMEOUT):
            assert await reader.readexactly(2) == b"HI"  # the loop is serving
            task.cancel()
            assert await reader.read() == b"BYE"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=200), max_size=12))
def test_no_bytes_make_the_loop_raise_and_only_stored_lines_are_echoed(
    chunks: list[bytes],
) -> None:
    async def run() -> tuple[bytes, list[bytes | None]]:
        intake = Intake()
        async with served(LineEchoSession(64), intake) as (reader, writer, task):
            for chunk in chunks:
                writer.write(chunk)
            writer.write_eof()
            async with asyncio.timeout(TIMEOUT):
                echoed = await reader.read()
                await task  # ended at EOF, without an exception
        return echoed, intake.stored

    echoed, stored = asyncio.run(run())
    assert echoed == b"".join(line + b"\n" for line in stored if line is not None)
