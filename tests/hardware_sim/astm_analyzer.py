"""An ASTM E1381/E1394 lab analyzer (the instrument) talking to the gateway (the host).

It speaks through the project's sans-IO link layer (:class:`~adapters.astm.link.AstmLink` with
:data:`~adapters.astm.dialect_link.INSTRUMENT` timers), so resends, timeouts and contention are
the code under test, not a second copy; faults rewrite the bytes that layer produced
(:mod:`tests.hardware_sim.astm_faults`). ``framed=False`` sends bare CR-separated records, as
many analyzers do over TCP. Samples and synthetic messages: :mod:`~.astm_transcripts`.

Command line (for an engineer testing a ward node with no analyzer)::

    python -m tests.hardware_sim.astm_analyzer --connect 127.0.0.1:7010 --count 5   # listen://
    python -m tests.hardware_sim.astm_analyzer --listen 0.0.0.0:7010 --file run.astm  # tcp://
    python -m tests.hardware_sim.astm_analyzer --pty /tmp/sim --bad-checksum 2,5 --cut 3
    python -m tests.hardware_sim.astm_analyzer --connect 127.0.0.1:7010 --query SP000001
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, TypedDict, Unpack

from adapters.astm.dialect_link import INSTRUMENT, LinkConfig
from adapters.astm.frames import ENQ, NAK
from adapters.astm.link import AstmLink
from adapters.astm.link_events import LinkReleased, MessageReceived, SendCompleted, SendFailed
from adapters.astm.link_line import State
from drivers import tcp
from drivers.base import ByteStream, StreamClosedError
from tests.hardware_sim.astm_faults import NO_FAULTS, FaultInjector, Faults
from tests.hardware_sim.astm_pending import PendingQuery, PendingSend, SendOutcome
from tests.hardware_sim.astm_server import AnalyzerServer
from tests.hardware_sim.astm_transcripts import messages_in_file, query_message, synthetic_results
from tests.hardware_sim.pty_pair import PtyPair

__all__ = [
    "NO_FAULTS",
    "AnalyzerServer",
    "AnalyzerSimulator",
    "Faults",
    "SendOutcome",
    "messages_in_file",
    "synthetic_results",
]

log = logging.getLogger("astm_analyzer")


class Options(TypedDict, total=False):
    config: LinkConfig
    faults: Faults
    framed: bool


class AnalyzerSimulator:
    """One analyzer on one connection; one task pumps bytes and time through the link layer.

    Must be created inside a running event loop. Messages the host sends are accepted at once
    and kept in :attr:`received`; :attr:`wire` logs every chunk read or written.
    """

    def __init__(
        self,
        stream: ByteStream,
        *,
        config: LinkConfig = INSTRUMENT,
        faults: Faults = NO_FAULTS,
        framed: bool = True,
    ) -> None:
        self.stream = stream
        self.framed = framed
        self.link = AstmLink(config)
        self.injector = FaultInjector(faults)
        self.wire: list[tuple[float, str, bytes]] = []
        self.received: list[list[bytes]] = []
        self._held: list[PendingSend] = []  # contend: waiting for the host's ENQ
        self._sending: dict[int, PendingSend] = {}  # by send_id, in the link's queue order
        self._queries: list[PendingQuery] = []
        self._partial = b""  # unframed: a record not ended yet
        self._inbound: list[bytes] = []  # unframed: records of the message so far
        self._loop = asyncio.get_running_loop()
        self._wake: asyncio.Future[None] = self._loop.create_future()
        self._pump_task = self._loop.create_task(self._pump())

    @classmethod
    async def connect(cls, host: str, port: int, **kw: Unpack[Options]) -> AnalyzerSimulator:
        """Dial the gateway (which listens: ``listen://`` in its config)."""
        return cls(await tcp.connect(host, port), **kw)

    @classmethod
    def serve(cls, host: str, port: int, **kw: Unpack[Options]) -> AnalyzerServer:
        """Listen for the gateway (which dials: ``tcp://``); enter, then ``await accepted()``."""
        return AnalyzerServer(host, port, lambda stream: cls(stream, **kw))

    @classmethod
    def over_pty(cls, pair: PtyPair, **kw: Unpack[Options]) -> AnalyzerSimulator:
        """Talk through a pty's master side; the gateway opens ``pair.path`` as a serial port."""
        return cls(pair, **kw)

    async def send(self, records: list[bytes], timeout: float = 60) -> SendOutcome:
        """Send one H…L message in its own ENQ…EOT session; return once the link layer is done.

        Unframed, the records are written and the send counts as completed: no answer exists.

        Raises:
            TimeoutError: no outcome within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            return await self._send(records, hold=self.injector.faults.contend)

    async def query(
        self, specimen_ids: list[str], timeout: float = 60, *, header: bytes | None = None
    ) -> list[list[bytes]]:
        """Ask the host for orders and return the message(s) it answers with.

        Sends :func:`~.astm_transcripts.query_message` (delimiters from ``header``), then returns
        every message the host sends until it releases the line after a message ending in L
        (unframed: until such a message). ``contend`` does not hold a query back.

        Raises:
            TimeoutError: no complete answer within ``timeout`` seconds.
            ConnectionError: the query was not delivered or the connection ended first.
        """
        records = query_message(specimen_ids, header)
        waiter = PendingQuery(self._loop.create_future(), armed=not self.framed)
        self._queries.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                outcome = await self._send(records, query=waiter)
                if not outcome.completed:
                    raise ConnectionError(f"query not delivered: {outcome.reason}")
                messages = await waiter.done
        finally:
            if waiter in self._queries:
                self._queries.remove(waiter)
        if messages is None:
            raise ConnectionError("the connection ended before the host answered")
        return messages

    async def unplug(self) -> None:
        """Pull the cable: a pty vanishes (the gateway reads EIO); TCP closes mid-conversation."""
        if isinstance(self.stream, PtyPair):
            self.stream.unplug()
        await self.close()

    async def close(self) -> None:
        """Stop the pump (pending sends end as failed) and close the stream; safe twice.

        A :class:`PtyPair` stays plugged: its owner made it, and a cable pull is :meth:`unplug`.
        """
        self._pump_task.cancel()
        try:
            await self._pump_task
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        if not isinstance(self.stream, PtyPair):
            await self.stream.close()

    async def _send(
        self, records: list[bytes], *, hold: bool = False, query: PendingQuery | None = None
    ) -> SendOutcome:
        if not self.framed:
            await self._pause()
            await self._write(b"\r".join(records) + b"\r")
            return SendOutcome(completed=True, reason=None, final_ack_at=None, naks=0)
        sending = PendingSend(records, self._loop.create_future(), query)
        if hold and not self._pump_task.done():
            self._held.append(sending)
        else:
            self._start(sending, time.monotonic())
        try:
            return await sending.done
        finally:
            if sending in self._held:
                self._held.remove(sending)

    def _start(self, sending: PendingSend, now: float) -> None:
        if self._pump_task.done():
            sending.end("the connection ended")
            return
        self._sending[self.link.send_message(sending.records, now)] = sending
        if not self._wake.done():
            self._wake.set_result(None)

    async def _pump(self) -> None:
        reading: asyncio.Future[bytes] | None = None
        reason = "the connection ended"
        try:
            while True:
                self._wake = self._loop.create_future()  # before flushing: no kick gets lost
                try:
                    await self._flush()
                except (OSError, StreamClosedError) as exc:
                    reason = f"the connection ended: {exc}"
                    return
                if reading is None:
                    reading = asyncio.ensure_future(self.stream.read())
                deadline = self.link.next_deadline() if self.framed else None
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                waiting: list[asyncio.Future[Any]] = [reading, self._wake]
                await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                now = time.monotonic()
                if reading.done():
                    data, reading = reading.result(), None
                    if not data:
                        return
                    self.wire.append((now, "in", data))
                    self._receive(data, now)
                if self.framed:
                    self.link.handle_timeout(now)
                    self._dispatch(now)
        except asyncio.CancelledError:
            reason = "the simulator was closed"
            raise
        finally:
            if reading is not None:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
            self._fail_all(reason)

    async def _flush(self) -> None:
        for chunk in self.injector.outgoing(self.link.data_to_send()):
            if isinstance(chunk, float):
                await asyncio.sleep(chunk)
            else:
                await self._write(chunk)

    async def _pause(self) -> None:
        if self.injector.faults.frame_delay_s:
            await asyncio.sleep(self.injector.faults.frame_delay_s)

    async def _write(self, data: bytes) -> None:
        self.wire.append((time.monotonic(), "out", data))
        await self.stream.write(data)

    def _receive(self, data: bytes, now: float) -> None:
        if not self.framed:
            self._receive_unframed(data)
            return
        if self._sending:
            next(iter(self._sending.values())).naks += data.count(NAK)
        data = self.injector.incoming(data)
        if self._held and ENQ in data and self.link.state is State.IDLE and not self._sending:
            # Contention: start our session (nothing else queued, so ENQ goes out now) so that
            # our ENQ answers theirs, then let the link layer see theirs (LIS1-A §8.2.7).
            before, data = data[: data.index(ENQ)], data[data.index(ENQ) :]
            self.link.receive_data(before, now)
            held, self._held = self._held, []
            for sending in held:
                self._start(sending, now)
        self.link.receive_data(data, now)

    def _receive_unframed(self, data: bytes) -> None:
        *complete, self._partial = (self._partial + data).replace(b"\n", b"\r").split(b"\r")
        for record in filter(None, complete):
            self._inbound.append(record)
            if record.startswith(b"L"):
                self._got(self._inbound)
                self._inbound = []
                self._line_released()

    def _dispatch(self, now: float) -> None:
        for event in self.link.events():
            match event:
                case SendCompleted(send_id):
                    self._finish(send_id, None, now)
                case SendFailed(send_id, reason):
                    self._finish(send_id, reason, None)
                case MessageReceived(message_id, records):
                    self.link.accept(message_id)
                    self._got(records)
                case LinkReleased("receiver"):
                    self._line_released()
                case _:
                    log.debug("link: %s", event)

    def _finish(self, send_id: int, failure: str | None, final_ack_at: float | None) -> None:
        sending = self._sending.pop(send_id, None)
        if sending is not None:
            sending.end(failure, final_ack_at)

    def _got(self, records: list[bytes]) -> None:
        log.info("received %d records from the host", len(records))
        self.received.append(records)
        if self._queries and self._queries[0].armed:
            self._queries[0].messages.append(records)

    def _line_released(self) -> None:
        query = self._queries[0] if self._queries else None
        if query and query.messages and query.messages[-1][-1].startswith(b"L"):
            self._queries.pop(0)
            query.end(query.messages)

    def _fail_all(self, reason: str) -> None:
        for sending in [*self._held, *self._sending.values()]:
            sending.end(reason)
        for query in self._queries:
            query.end(None)
        self._held, self._sending, self._queries = [], {}, []


if __name__ == "__main__":
    from tests.hardware_sim.astm_cli import main

    main()
