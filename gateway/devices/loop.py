"""The one driving loop: a device session (``adapters/session.py``) on one open connection.

Every kind's connections are pumped here, so what promise 1 needs is written once: a
:class:`~adapters.session.Store` is committed before the session hears ``stored`` and may put
its positive answer on the wire; a refused commit is told to the session, which answers
negatively. Around that: a reader task feeding a bounded queue (a flood waits in the kernel's
buffers, not in our memory), the session's deadlines, the idle timeout, questions to the centre
answered in tasks of their own, and a bounded goodbye when the device is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from adapters.canonical.orders import OrderReply
from adapters.kind import PreparedDevice
from adapters.session import (
    AskHost,
    DeviceSession,
    EndConnection,
    Rejected,
    StateChanged,
    Store,
)
from drivers.base import ByteStream
from gateway.devices.intake import Intake

log = logging.getLogger(__name__)

READ_AHEAD_CHUNKS = 16
"""Chunks read but not yet handled; past that, the reader waits (TCP backpressure)."""


@dataclass(frozen=True, slots=True)
class _Answer:
    ticket: object
    reply: OrderReply | None


class _Idle:
    """The connection was silent for the idle timeout."""


class _Due:
    """The session's deadline has come."""


_Input = bytes | _Answer | _Idle | _Due | None
"""Bytes read, an answer from the centre, a timeout, or ``None`` at end of input."""


async def drive(
    stream: ByteStream, device_id: str, prepared: PreparedDevice, intake: Intake
) -> None:
    """Serve one connection until it ends, then close it. Cancellation ends it too (bounded)."""
    await _Connection(stream, device_id, prepared, intake).run()


class _Connection:
    def __init__(
        self, stream: ByteStream, device_id: str, prepared: PreparedDevice, intake: Intake
    ) -> None:
        self._stream = stream
        self._device_id = device_id
        self._prepared = prepared
        self._intake = intake
        self._session: DeviceSession = prepared.new_session(stream.peer)
        self._inputs: asyncio.Queue[_Input] = asyncio.Queue(READ_AHEAD_CHUNKS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._clock = asyncio.get_running_loop().time

    async def run(self) -> None:
        self._spawn(self._read())
        try:
            self._session.start(self._clock())
            while not await self._carry_out():
                item = await self._next()
                if isinstance(item, _Idle):
                    log.info("device %s: closing idle connection %s", self._device_id, self._peer)
                    self._intake.count_connection_dropped(self._device_id, "idle_timeout")
                    return
                if item is None:
                    self._session.peer_closed(self._clock())
                    await self._carry_out()
                    return
                self._feed(item)
        except asyncio.CancelledError:
            await self._say_goodbye()
            raise
        finally:
            for task in self._tasks:
                task.cancel()
            # Close first: a second cancellation landing in the gather must not leave it open.
            await self._stream.close()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def _peer(self) -> str:
        return self._stream.peer

    def _feed(self, item: bytes | _Answer | _Due) -> None:
        session, now = self._session, self._clock()
        if isinstance(item, bytes):
            session.receive_data(item, now)
        elif isinstance(item, _Answer):
            session.host_answered(item.ticket, item.reply, now)
        deadline = session.next_deadline()
        if deadline is not None and deadline <= now:
            session.handle_timeout(now)

    async def _next(self) -> _Input:
        """The next input, or a timeout: the session's deadline, else the idle limit."""
        deadline = self._session.next_deadline()
        if deadline is None:
            timeout = self._prepared.idle_timeout_s
        else:
            timeout = max(0.0, deadline - self._clock())
        try:
            async with asyncio.timeout(timeout):
                return await self._inputs.get()
        except TimeoutError:
            return _Idle() if deadline is None else _Due()

    async def _carry_out(self) -> bool:
        """Do what the session asks, then write what it has to send; True once it ends."""
        ended = False
        while outputs := self._session.outputs():
            for output in outputs:
                if isinstance(output, Store):
                    await self._store(output)
                elif isinstance(output, Rejected):
                    self._intake.count_rejected(self._device_id, output.reason, output.raw)
                elif isinstance(output, AskHost):
                    self._spawn(self._ask(output))
                elif isinstance(output, StateChanged):
                    self._intake.report_state(self._device_id, output.state, output.detail)
                elif isinstance(output, EndConnection):
                    if output.reason is not None:
                        self._intake.count_connection_dropped(self._device_id, output.reason)
                    ended = True
        for data in self._session.data_to_send():
            await self._stream.write(data)
        return ended

    async def _store(self, output: Store) -> None:
        refused = None
        if output.events:
            try:
                await self._intake.submit_many(
                    self._device_id,
                    output.events,
                    raw=output.raw,
                    message_key=output.message_key,
                    device_time=output.device_time,
                )
            except Exception as exc:  # StoreError above all; the pipeline counts the refusal
                refused = str(exc) or type(exc).__name__
                log.warning(
                    "device %s: %d event(s) not stored (%s); %s",
                    self._device_id,
                    len(output.events),
                    type(exc).__name__,
                    "answered negatively"
                    if output.ticket is not None
                    else "the device cannot be asked again",
                )
        if refused is None and output.unread:
            self._intake.count_unread_fields(self._device_id, output.unread)
        if output.ticket is not None:
            self._session.stored(output.ticket, refused)

    async def _ask(self, question: AskHost) -> None:
        reply = await self._intake.ask_host(
            self._device_id, question.query, raw=question.raw, timeout_s=question.timeout_s
        )
        await self._inputs.put(_Answer(question.ticket, reply))

    async def _read(self) -> None:
        with contextlib.suppress(OSError):
            while data := await self._stream.read():
                await self._inputs.put(data)
        await self._inputs.put(None)

    async def _say_goodbye(self) -> None:
        """Stopped: a session that asks for it gets a bounded moment to end politely."""
        session = self._session
        wait = session.close(self._clock())
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._prepared.close_wait_s):
                for data in session.data_to_send():
                    await self._stream.write(data)
                while wait and session.next_deadline() is not None:
                    item = await self._inputs.get()
                    if item is None:
                        return
                    if isinstance(item, bytes):
                        session.receive_data(item, self._clock())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
