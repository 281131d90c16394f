"""UDP transport: one datagram per read (Philips IntelliVue Data Export on port 24105).

The :class:`~drivers.base.ByteStream` contract holds with one difference a runner must know:
``read`` returns exactly one datagram, so message boundaries survive. A connected UDP socket has
no peer to lose; an ICMP "port unreachable" for a datagram we sent (nobody listens there) ends
the stream with ``b""`` so the runner reconnects with backoff, and silence is the protocol's
business (a watchdog). Datagrams that arrive faster than the runner reads are dropped past
:data:`MAX_QUEUED`, as the network itself would.
"""

from __future__ import annotations

import asyncio

from drivers.base import ByteStream, OpenFailedError, StreamClosedError

MAX_QUEUED = 1024


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(MAX_QUEUED)
        self.closed = False

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if data and not self.queue.full():
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self._end()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _end(self) -> None:
        self.closed = True
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(b"")


class UdpStream:
    """A connected UDP socket as a :class:`~drivers.base.ByteStream` of whole datagrams."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Protocol, peer: str):
        self._transport = transport
        self._protocol = protocol
        self._peer = peer

    @property
    def peer(self) -> str:
        return self._peer

    async def read(self, max_bytes: int = 65536) -> bytes:
        if self._protocol.closed and self._protocol.queue.empty():
            return b""
        return (await self._protocol.queue.get())[:max_bytes]

    async def write(self, data: bytes) -> None:
        if self._transport.is_closing() or self._protocol.closed:
            raise StreamClosedError(f"udp to {self._peer} is closed")
        self._transport.sendto(data)

    async def close(self) -> None:
        self._transport.close()


async def connect(host: str, port: int) -> ByteStream:
    """A UDP socket connected to ``host:port`` (no handshake: this fails only on bad addresses)."""
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _Protocol, remote_addr=(host, port)
        )
    except OSError as exc:
        raise OpenFailedError(f"cannot open udp to {host}:{port}: {exc}") from exc
    return UdpStream(transport, protocol, f"{host}:{port}")
