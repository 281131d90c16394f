"""One connection through the fault proxy: a pump per direction, applying that direction's faults.

:class:`ProxiedConnection` reads from one side and writes to the other, holding chunks for
latency, pacing them for bandwidth and swallowing them while the proxy is blackholed;
:class:`Toxics` are the faults of one direction, shared by every connection. The proxy itself,
which accepts connections and switches faults, is :class:`~.fault_proxy.FaultProxy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tests.hardware_sim.fault_proxy import FaultProxy

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("up", "down")
_CHUNK = 65536
_LINGER_0 = struct.pack("ii", 1, 0)
_Pair = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Queue = asyncio.Queue[tuple[float, bytes]]  # (read at, chunk); b"" is the sender's FIN


@dataclass
class Toxics:
    """The faults of one direction; read by every connection at each chunk."""

    latency_s: float = 0.0
    bytes_per_s: int | None = None
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while the proxy reads from this direction's sender (cleared: slow reader)."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set (and replaced) whenever latency or bandwidth changes, to wake held chunks."""
    forwarded: int = 0
    held: int = 0
    """Bytes read from the sender and not yet written on (latency, bandwidth)."""

    def touch(self) -> None:
        old, self.changed = self.changed, asyncio.Event()
        old.set()


class ProxiedConnection:
    """One proxied connection: a pump per direction."""

    def __init__(self, proxy: FaultProxy, client: _Pair, upstream: _Pair) -> None:
        self.proxy = proxy
        self.ends = {"up": (client, upstream), "down": (upstream, client)}
        self.tainted = False  # bytes were swallowed: this stream has a hole
        self.tasks = [asyncio.create_task(self._pump(d)) for d in DIRECTIONS]
        self._closer = asyncio.create_task(self._close_when_done())

    async def _close_when_done(self) -> None:
        """Both directions ended (FIN each way, or an abort): release the sockets."""
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for _, writer in self.ends["up"]:
            writer.close()
        self.proxy.links.discard(self)

    async def _pump(self, direction: Direction) -> None:
        toxics = self.proxy.toxics[direction]
        (reader, _), (_, writer) = self.ends[direction]
        queue: _Queue = asyncio.Queue()
        forward = asyncio.create_task(self._forward(toxics, queue, writer))
        loop = asyncio.get_running_loop()
        try:
            while True:
                await toxics.reading.wait()
                try:
                    data = await reader.read(_CHUNK)
                except OSError:
                    data = None  # the sender reset the connection
                if self.proxy.blackholed:
                    self.tainted = True
                    self.proxy.swallowed += len(data or b"")
                    if not data:
                        await asyncio.Future()  # a FIN or RST is swallowed too: half-open
                    continue
                if data is None:
                    self.abort()  # pass the reset on to the other side
                    return
                toxics.held += len(data)
                queue.put_nowait((loop.time(), data))
                if not data:
                    await forward
                    return
        finally:
            forward.cancel()
            await asyncio.gather(forward, return_exceptions=True)

    async def _forward(self, toxics: Toxics, queue: _Queue, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            read_at, data = await queue.get()
            while (delay := read_at + toxics.latency_s - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(toxics.changed.wait(), delay)
            if self.proxy.blackholed:  # switched on while the chunk was held
                self.tainted = True
                self.proxy.swallowed += len(data)
                toxics.held -= len(data)
                continue
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            try:
                await self._write(toxics, writer, data)
            except OSError:
                self.abort()
                return

    async def _write(self, toxics: Toxics, writer: asyncio.StreamWriter, data: bytes) -> None:
        while data:
            rate = toxics.bytes_per_s
            size = len(data) if rate is None else max(1, rate // 20)
            piece, data = data[:size], data[size:]
            writer.write(piece)
            await writer.drain()
            toxics.held -= len(piece)
            toxics.forwarded += len(piece)
            if rate is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(toxics.changed.wait(), len(piece) / rate)

    def abort(self, *, reset: bool = True) -> None:
        for _, writer in self.ends["up"]:
            if reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:  # linger 0: close() sends RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
                writer.transport.abort()
            else:
                writer.close()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.proxy.links.discard(self)
