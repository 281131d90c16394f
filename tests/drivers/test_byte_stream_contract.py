"""One ByteStream contract, run against every transport (python-can's back2back idea).

Each fixture gives the gateway's stream, opened through ``drivers.registry`` as in production,
and the device's end of the same connection: a pty master, or the other TCP socket.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from drivers import registry, tcp
from drivers.base import ByteStream, StreamClosedError
from tests.hardware_sim.pty_pair import PtyPair

TIMEOUT = 10.0


class DeviceEnd(Protocol):
    async def read(self, max_bytes: int = 65536) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


@dataclass
class Link:
    gateway: ByteStream
    device: DeviceEnd


@pytest.fixture(params=["pty", "tcp-connect", "tcp-listen"])
async def link(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Link]:
    if request.param == "pty":
        with PtyPair(tmp_path) as pair:
            gateway = await registry.open_stream(f"serial://{pair.path}?baudrate=115200")
            yield Link(gateway, pair)
            await gateway.close()
    elif request.param == "tcp-connect":
        async with tcp.listen("127.0.0.1", 0) as device_server:
            gateway = await registry.open_stream(f"tcp://127.0.0.1:{device_server.port}")
            device = await anext(aiter(device_server))
            yield Link(gateway, device)
            await gateway.close()
            await device.close()
    else:
        async with registry.open_listener("listen://127.0.0.1:0") as listener:
            device = await tcp.connect("127.0.0.1", listener.port)
            gateway = await anext(aiter(listener))
            yield Link(gateway, device)
            await gateway.close()
            await device.close()


async def read_exactly(stream: DeviceEnd | ByteStream, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        chunk = await asyncio.wait_for(stream.read(65536), TIMEOUT)
        assert chunk, f"EOF after {len(received)} of {size} bytes"
        received += chunk
    return bytes(received)


class TestByteStreamContract:
    async def test_round_trip_both_directions(self, link: Link) -> None:
        await link.device.write(b"]C0SP2611220001\r\n")
        assert await read_exactly(link.gateway, 17) == b"]C0SP2611220001\r\n"
        await link.gateway.write(b"\x06")
        assert await read_exactly(link.device, 1) == b"\x06"

    async def test_every_byte_value_passes_untouched(self, link: Link) -> None:
        payload = bytes(range(256)) * 4
        await link.device.write(payload)
        assert await read_exactly(link.gateway, len(payload)) == payload

    async def test_large_writes_arrive_whole_and_in_order(self, link: Link) -> None:
        payload = os.urandom(1 << 20)
        sender = asyncio.create_task(link.gateway.write(payload))
        assert await read_exactly(link.device, len(payload)) == payload
        await asyncio.wait_for(sender, TIMEOUT)

        sender = asyncio.create_task(link.device.write(payload))
        assert await read_exactly(link.gateway, len(payload)) == payload
        await asyncio.wait_for(sender, TIMEOUT)

    async def test_read_returns_eof_when_device_goes_away(self, link: Link) -> None:
        await link.device.write(b"last")
        assert await read_exactly(link.gateway, 4) == b"last"
        await link.device.close()
        assert await asyncio.wait_for(link.gateway.read(), TIMEOUT) == b""

    async def test_write_after_close_raises_and_close_is_idempotent(self, link: Link) -> None:
        await link.gateway.close()
        await link.gateway.close()
        with pytest.raises(StreamClosedError):
            await link.gateway.write(b"late")

    async def test_peer_names_the_other_end(self, link: Link) -> None:
        assert link.gateway.peer
