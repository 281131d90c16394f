"""A TCP fault proxy in the manner of toxiproxy: a bad network between a client and its server.

Clients connect to the proxy's port; each connection is forwarded to the upstream. Faults are
switched at run time and apply to every connection, open or new:

- **latency** per direction (``up`` = client → upstream, ``down`` = upstream → client): each
  chunk is held until it has been in the proxy that long; order is kept, and lowering the
  latency releases what is held at once;
- **bandwidth** in bytes per second per direction;
- **cut**: close every open connection on both sides, with RST (default) or FIN;
- **blackhole** (half-open): sockets stay open but every byte, and any FIN, is swallowed. When
  it is lifted, connections that lost bytes are reset, as a peer answers segments of a
  connection it no longer knows: a stream with a hole in it is of no use to anyone;
- **pause** one direction (slow reader): stop reading from that direction's sender, whose
  socket buffers then fill;
- **refuse** new connections (the listening socket is closed: connection refused).

Command line (for an engineer, between a gateway and its broker)::

    python -m tests.hardware_sim.fault_proxy --listen 18830 --upstream 127.0.0.1:1883 \\
        --latency-ms 200 --bandwidth 20000

then type commands: ``cut``, ``fin``, ``blackhole on|off``, ``latency MS [up|down]``,
``bandwidth BPS|off``, ``pause up|down``, ``resume up|down``, ``refuse on|off``, ``heal``,
``status``.
"""

from __future__ import annotations

import asyncio
from typing import Self

from tests.hardware_sim.fault_proxy_link import DIRECTIONS, Direction, ProxiedConnection, Toxics


class FaultProxy:
    """Listen on ``listen_port`` (0: any free port, see :attr:`port`), forward to upstream."""

    def __init__(
        self, listen_port: int, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self.port = listen_port
        self.upstream = (upstream_host, upstream_port)
        self.toxics = {d: Toxics() for d in DIRECTIONS}
        for toxics in self.toxics.values():
            toxics.reading.set()
        self.blackholed = False
        self.links: set[ProxiedConnection] = set()
        self.accepted = 0
        self.swallowed = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- faults ------------------------------------------------------------------------------
    def latency(self, seconds: float, direction: Direction | None = None) -> None:
        for d in (direction,) if direction else DIRECTIONS:
            self.toxics[d].latency_s = seconds
            self.toxics[d].touch()

    def bandwidth(self, bytes_per_s: int | None, direction: Direction | None = None) -> None:
        for d in (direction,) if direction else DIRECTIONS:
            self.toxics[d].bytes_per_s = bytes_per_s
            self.toxics[d].touch()

    def set_blackhole(self, on: bool) -> None:
        self.blackholed = on
        if not on:
            for link in [link for link in self.links if link.tainted]:
                link.abort()

    def pause(self, direction: Direction) -> None:
        """Stop reading what ``direction``'s sender writes (it sees a slow reader)."""
        self.toxics[direction].reading.clear()

    def resume(self, direction: Direction) -> None:
        self.toxics[direction].reading.set()

    def cut(self, *, reset: bool = True) -> int:
        """Close every open connection on both sides; the number closed."""
        links = list(self.links)
        for link in links:
            link.abort(reset=reset)
        return len(links)

    async def refuse(self, on: bool) -> None:
        """Close (or reopen) the listening socket; open connections are left alone."""
        if on and self._server is not None:
            self._server.close()
            self._server = None
        elif not on and self._server is None:
            await self.start()

    async def heal(self) -> None:
        """Every fault off (a tainted connection is reset, see :meth:`set_blackhole`)."""
        self.latency(0.0)
        self.bandwidth(None)
        for d in DIRECTIONS:
            self.resume(d)
        self.set_blackhole(False)
        await self.refuse(False)

    def status(self) -> str:
        faults = ", ".join(
            f"{d}: latency {t.latency_s * 1000:.0f} ms, "
            f"bandwidth {t.bytes_per_s or 'unlimited'}, "
            f"{'reading' if t.reading.is_set() else 'PAUSED'}, forwarded {t.forwarded} B"
            for d, t in self.toxics.items()
        )
        return (
            f"{len(self.links)} open, {self.accepted} accepted, "
            f"blackhole {'ON' if self.blackholed else 'off'} (swallowed {self.swallowed} B), "
            f"{'refusing' if self._server is None else 'accepting'}; {faults}"
        )

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.links.add(ProxiedConnection(self, (reader, writer), upstream))


if __name__ == "__main__":
    from tests.hardware_sim.fault_proxy_cli import main

    main()
