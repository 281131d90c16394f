"""Serial transport through pyserial and pyserial-asyncio-fast, behind one small class.

Any pyserial URL passes through (``socket://host:port`` and ``rfc2217://host:port`` serial
servers work like a local port), and a ``/dev/serial/by-id/...`` path survives re-enumeration
when a USB adapter is replugged. pyserial reports an unplugged adapter as a read error (EIO);
this stream turns that into EOF so the runner reopens the port like after any other drop.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Literal

import serial
import serial_asyncio_fast

from drivers.base import ByteStream, OpenFailedError, StreamClosedError

Parity = Literal["N", "E", "O", "M", "S"]


@dataclass(frozen=True)
class SerialSettings:
    """Line settings; the defaults (9600 8N1) are what most ward devices ship with."""

    baudrate: int = 9600
    parity: Parity = "N"
    bytesize: Literal[5, 6, 7, 8] = 8
    stopbits: float = 1

    def __post_init__(self) -> None:
        for name, allowed in _ALLOWED.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"serial {name} must be one of {sorted(map(str, allowed))}")
        if self.baudrate <= 0:
            raise ValueError("serial baudrate must be positive")


_ALLOWED: dict[str, frozenset[object]] = {
    "parity": frozenset({"N", "E", "O", "M", "S"}),
    "bytesize": frozenset({5, 6, 7, 8}),
    "stopbits": frozenset({1, 1.5, 2}),
}


class SerialStream:
    """A :class:`~drivers.base.ByteStream` over an open serial port."""

    def __init__(self, port: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._port = port
        self._reader = reader
        self._writer = writer

    @property
    def peer(self) -> str:
        return self._port

    async def read(self, max_bytes: int = 65536) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except (serial.SerialException, OSError):
            return b""

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise StreamClosedError(f"serial port {self._port} is closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (serial.SerialException, OSError) as exc:
            raise StreamClosedError(f"write to {self._port} failed: {exc}") from exc

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(serial.SerialException, OSError):
            await self._writer.wait_closed()


async def open_serial(port: str, settings: SerialSettings | None = None) -> ByteStream:
    """Open a port path or pyserial URL with the given line settings."""
    settings = settings or SerialSettings()
    try:
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=port,
            baudrate=settings.baudrate,
            parity=settings.parity,
            bytesize=settings.bytesize,
            stopbits=settings.stopbits,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise OpenFailedError(f"cannot open serial port {port}: {exc}") from exc
    return SerialStream(port, reader, writer)
