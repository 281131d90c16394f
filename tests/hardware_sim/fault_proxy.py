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

import argparse
import asyncio
import contextlib
import socket
import struct
import sys
from dataclasses import dataclass, field
from typing import Literal, Self

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


class _Link:
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
        self.links: set[_Link] = set()
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
        self.links.add(_Link(self, (reader, writer), upstream))


async def _command(proxy: FaultProxy, words: list[str]) -> str | None:
    """Apply one command line; an error message, or ``None``."""
    match words:
        case ["cut" | "fin" as how]:
            return f"closed {proxy.cut(reset=how == 'cut')} connection(s)"
        case ["blackhole", "on" | "off" as on]:
            proxy.set_blackhole(on == "on")
        case ["latency", ms, *side] if side in ([], ["up"], ["down"]):
            proxy.latency(float(ms) / 1000, _direction(side[0]) if side else None)
        case ["bandwidth", rate]:
            proxy.bandwidth(None if rate == "off" else int(rate))
        case ["pause" | "resume" as verb, "up" | "down" as side]:
            (proxy.pause if verb == "pause" else proxy.resume)(_direction(side))
        case ["refuse", "on" | "off" as on]:
            await proxy.refuse(on == "on")
        case ["heal"]:
            await proxy.heal()
        case [] | ["status"]:
            pass
        case _:
            return f"unknown command: {' '.join(words)}"
    return None


def _direction(word: str) -> Direction:
    return "up" if word == "up" else "down"


async def _commands(proxy: FaultProxy) -> None:
    while line := await asyncio.to_thread(sys.stdin.readline):
        try:
            said = await _command(proxy, line.split())
        except ValueError as exc:
            said = f"bad value: {exc}"
        if said:
            print(said)
        print(proxy.status(), flush=True)
    await asyncio.Future()  # stdin closed (running in the background): keep proxying


async def _main(args: argparse.Namespace) -> None:
    host, _, port = args.listen.rpartition(":")
    up_host, _, up_port = args.upstream.rpartition(":")
    async with FaultProxy(int(port), up_host, int(up_port), host=host or "127.0.0.1") as proxy:
        proxy.latency(args.latency_ms / 1000)
        proxy.bandwidth(args.bandwidth)
        proxy.set_blackhole(args.blackhole)
        await proxy.refuse(args.refuse)
        print(f"proxying {proxy.host}:{proxy.port} -> {args.upstream}; {proxy.status()}")
        await _commands(proxy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, metavar="[HOST:]PORT")
    parser.add_argument("--upstream", required=True, metavar="HOST:PORT")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="each direction")
    parser.add_argument("--bandwidth", type=int, default=None, metavar="BYTES_PER_S")
    parser.add_argument("--blackhole", action="store_true", help="start half-open")
    parser.add_argument("--refuse", action="store_true", help="start refusing connections")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
