"""TCP transports: connect to a device's server port, or accept devices that connect to us.

Listening is an async context manager that is also an async iterator of accepted streams, so a
runner owns each connection's task itself (``async for stream in listener``) instead of handing
asyncio a callback whose exceptions vanish.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from types import TracebackType
from typing import Self

from drivers.base import ByteStream, OpenFailedError, StreamClosedError

TLS_HANDSHAKE_TIMEOUT_S = 10.0


class TcpStream:
    """A :class:`~drivers.base.ByteStream` over an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        address = writer.get_extra_info("peername")
        self._peer = f"{address[0]}:{address[1]}" if address else "unknown"

    @property
    def peer(self) -> str:
        return self._peer

    async def read(self, max_bytes: int = 65536) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except OSError:
            # A reset is the peer leaving without a FIN: the same news as EOF for a runner.
            return b""

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise StreamClosedError(f"stream to {self._peer} is closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            raise StreamClosedError(f"write to {self._peer} failed: {exc}") from exc

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def connect(host: str, port: int, *, tls: ssl.SSLContext | None = None) -> ByteStream:
    """Open a TCP connection to a device that serves (a terminal server, an analyzer's port)."""
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    except OSError as exc:
        raise OpenFailedError(f"cannot connect to {host}:{port}: {exc}") from exc
    _enable_keepalive(writer)
    return TcpStream(reader, writer)


def listen(host: str, port: int, *, tls: ssl.SSLContext | None = None) -> TcpListener:
    """Return a listener for devices that connect to us; enter it to bind.

    Usage::

        async with listen("0.0.0.0", 7001) as listener:
            async for stream in listener:
                ...
    """
    return TcpListener(host, port, tls)


class TcpListener:
    """Accepts connections while entered; iterating yields each accepted stream once.

    Streams accepted but never taken from the iterator are closed on exit, so nothing leaks.
    """

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self._host = host
        self._port = port
        self._tls = tls  # with verify_mode CERT_REQUIRED, peers without a valid cert are refused
        self._server: asyncio.Server | None = None
        self._accepted: asyncio.Queue[TcpStream] = asyncio.Queue()

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        if self._server is None:
            raise RuntimeError("listener is not bound; use it as 'async with'")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> Self:
        try:
            self._server = await asyncio.start_server(
                self._on_connect,
                self._host,
                self._port,
                ssl=self._tls,
                # A peer stalling its handshake holds a descriptor before any cap sees it.
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_S if self._tls else None,
            )
        except OSError as exc:
            raise OpenFailedError(f"cannot listen on {self._host}:{self._port}: {exc}") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        while not self._accepted.empty():
            await self._accepted.get_nowait().close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ByteStream:
        if self._server is None:
            raise StopAsyncIteration
        return await self._accepted.get()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = TcpStream(reader, writer)
        if self._server is None:
            # A peer that connected as we stopped listening: its handler runs after the exit
            # drained the queue, so nobody would ever take (and close) it.
            await stream.close()
            return
        _enable_keepalive(writer)
        self._accepted.put_nowait(stream)


def _enable_keepalive(writer: asyncio.StreamWriter) -> None:
    """Let the kernel notice a device that lost power without closing its socket."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
