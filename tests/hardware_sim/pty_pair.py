"""A real pseudo-terminal pair standing in for a USB serial cable.

The gateway opens ``pair.path``, a symlink like ``/dev/serial/by-id/...`` that points at the pty's
slave side; the simulator talks through the master side with :meth:`PtyPair.read` and
:meth:`PtyPair.write`. :meth:`unplug` closes the master, so the gateway's reads fail with EIO
exactly as when a USB adapter is pulled; :meth:`replug` creates a fresh pty and re-points the
symlink, as udev does, so the gateway can reopen the same path.
"""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path
from types import TracebackType
from typing import Self


class PtyPair:
    """One virtual serial cable; ``path`` stays the same across unplug and replug."""

    def __init__(self, directory: Path, name: str = "usb-WardLink_Sim-if00") -> None:
        self.path = str(directory / name)
        self._master = -1
        self._slave = -1
        self._waiters: set[asyncio.Future[None]] = set()
        self.replug()

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    @property
    def peer(self) -> str:
        return f"pty master for {self.path}"

    def replug(self) -> None:
        """Create a fresh pty and point ``path`` at it (closing the old one first)."""
        self.unplug()
        self._master, self._slave = os.openpty()
        # Raw mode: no echo, no CR/LF translation, no line buffering; bytes pass untouched.
        # The simulator keeps the slave open so the line exists before the gateway opens it.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        link = Path(self.path)
        temporary = link.with_name(link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(self._slave))
        temporary.replace(link)

    def unplug(self) -> None:
        """Pull the cable: the gateway's open port reads EIO and ``path`` disappears."""
        Path(self.path).unlink(missing_ok=True)
        if self._master >= 0:
            for waiter in self._waiters:
                loop = waiter.get_loop()
                loop.remove_reader(self._master)
                loop.remove_writer(self._master)
                if not waiter.done():
                    waiter.set_result(None)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    async def write(self, data: bytes) -> None:
        """Send bytes to the gateway, waiting while the pty buffer is full."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd(), view)
            except BlockingIOError:
                await self._wait(writable=True)
                continue
            view = view[written:]

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Receive bytes the gateway wrote; ``b""`` once unplugged."""
        while self.plugged:
            try:
                return os.read(self._master, max_bytes)
            except BlockingIOError:
                await self._wait(writable=False)
            except OSError:
                return b""
        return b""

    async def close(self) -> None:
        self.unplug()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unplug()

    def _fd(self) -> int:
        if not self.plugged:
            raise OSError("pty is unplugged")
        return self._master

    async def _wait(self, *, writable: bool) -> None:
        """Sleep until the master fd is ready (or the pair is unplugged)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._fd()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        if writable:
            loop.add_writer(fd, wake)
        else:
            loop.add_reader(fd, wake)
        self._waiters.add(ready)
        try:
            await ready
        finally:
            self._waiters.discard(ready)
            if self.plugged:
                loop.remove_writer(fd) if writable else loop.remove_reader(fd)
