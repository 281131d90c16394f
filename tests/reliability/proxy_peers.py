"""Plain-socket peers for the fault proxy's own tests: an upstream that records what it gets."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Self

from tests.e2e.harness import async_wait_for


@dataclass
class Peer:
    """One connection accepted by :class:`Upstream`."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: bytearray = field(default_factory=bytearray)
    eof: bool = False
    reset: bool = False

    async def pump(self) -> None:
        try:
            while data := await self.reader.read(65536):
                self.received += data
            self.eof = True
        except ConnectionResetError:
            self.reset = True


class Upstream:
    """A server on a free port keeping every byte each connection sent, and whether it ended."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for peer in self.peers:
            peer.writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self.peers.append(peer)
        task = asyncio.create_task(peer.pump())
        self._tasks.add(task)

    async def peer(self, index: int = 0) -> Peer:
        await async_wait_for(lambda: len(self.peers) > index, 10, "the proxy's upstream connection")
        return self.peers[index]


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, str]:
    """Everything until the end, and how it ended: ``"fin"`` or ``"reset"``."""
    data = bytearray()
    try:
        while chunk := await reader.read(65536):
            data += chunk
    except ConnectionResetError:
        return bytes(data), "reset"
    return bytes(data), "fin"
