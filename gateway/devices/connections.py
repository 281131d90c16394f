"""Keeping a device's connection(s) up, for every runner: connect out or accept in.

``serial://`` and ``tcp://`` connections are reopened with backoff whenever they fail or drop;
on ``listen://`` up to ``max_connections`` peers may connect at once and the device counts as
connected while at least one is. Trouble is reported once per change of state (Home Assistant's
rule: an unavailable device is logged once, not at every retry). The runner supplies ``serve``,
which pumps one connection until EOF and closes it.

**The connection cap** (issue 11, defect 3; ADR 0012). Unbounded connections once exhausted the
process's file descriptors and took every device down. At the cap, a new peer is served and the
least recently active connection is closed to make room, provided it has been silent for
:data:`EVICTABLE_AFTER_S`: an analyzer that reboots and reconnects while its old socket is
still half open must get in (a refused analyzer would stay locked out until the idle timeout).
When every connection is busy, the new one is refused (closed at once). Both are counted
(``wardlink_connections_dropped_total{reason}``) and logged, rate-limited.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

from adapters.canonical.events import DeviceState
from drivers.backoff import Backoff
from drivers.base import ByteStream, OpenFailedError, StreamClosedError
from drivers.registry import accepts_connections, open_listener, open_stream
from gateway.devices.intake import Intake

log = logging.getLogger(__name__)

Serve = Callable[[ByteStream], Awaitable[None]]

DEFAULT_MAX_CONNECTIONS = 16
"""Per listening device: far more than any analyzer, monitor or scanner opens."""

EVICTABLE_AFTER_S = 2.0
"""A connection silent this long may be closed to make room for a new one at the cap."""


async def keep_connected(
    device_id: str,
    url: str,
    intake: Intake,
    serve: Serve,
    *,
    backoff: Backoff | None = None,
    tls: ssl.SSLContext | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Run until cancelled. Raises ``InvalidUrlError`` for an unusable URL (a config error)."""
    link = _Link(device_id, url, intake, serve, backoff or Backoff(), tls, max_connections)
    await (link.accept() if accepts_connections(url) else link.connect())


@dataclass
class _Link:
    device_id: str
    url: str
    intake: Intake
    serve: Serve
    backoff: Backoff
    tls: ssl.SSLContext | None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    failing: bool = False

    def _failed(self, what: str, exc: OpenFailedError) -> None:
        if not self.failing:
            log.warning("device %s %s: %s; retrying", self.device_id, what, exc)
            self.intake.report_state(self.device_id, DeviceState.ERROR, str(exc))
            self.failing = True

    async def connect(self) -> None:
        while True:
            try:
                stream = await open_stream(self.url, tls=self.tls)
            except OpenFailedError as exc:
                self._failed("unavailable", exc)
                await asyncio.sleep(self.backoff.next_delay())
                continue
            self.failing = False
            self.backoff.reset()
            log.info("device %s connected (%s)", self.device_id, stream.peer)
            self.intake.report_state(self.device_id, DeviceState.CONNECTED, stream.peer)
            await self.serve(stream)
            log.warning("device %s disconnected (%s); reconnecting", self.device_id, stream.peer)
            self.intake.report_state(
                self.device_id, DeviceState.DISCONNECTED, f"{stream.peer} closed"
            )
            # A device that accepts and drops at once must not make us spin.
            await asyncio.sleep(self.backoff.next_delay())

    async def accept(self) -> None:
        while True:
            try:
                async with open_listener(self.url, tls=self.tls) as listener:
                    self.failing = False
                    self.backoff.reset()
                    log.info("device %s listening on port %d", self.device_id, listener.port)
                    # Bound but nobody connected yet; also clears an earlier ERROR.
                    detail = f"waiting for connections on port {listener.port}"
                    self.intake.report_state(self.device_id, DeviceState.DISCONNECTED, detail)
                    await self._serve_all(listener)
            except OpenFailedError as exc:
                self._failed("cannot listen", exc)
                await asyncio.sleep(self.backoff.next_delay())

    async def _serve_all(self, listener: AsyncIterable[ByteStream]) -> None:
        """Serve every connecting peer; one peer's failure never touches the others."""
        live: set[_TrackedStream] = set()  # counted against the cap
        serving = 0  # for the device's state: connected while one is served

        async def serve_one(stream: _TrackedStream) -> None:
            nonlocal serving
            serving += 1
            if serving == 1:
                self.intake.report_state(self.device_id, DeviceState.CONNECTED, stream.peer)
            log.info("device %s: %s connected", self.device_id, stream.peer)
            try:
                await self.serve(stream)
            except StreamClosedError as exc:  # the peer left while we answered: not a fault
                log.info("device %s: %s", self.device_id, exc)
                await stream.close()
            except Exception:
                log.exception("device %s: connection from %s failed", self.device_id, stream.peer)
                await stream.close()
            finally:
                live.discard(stream)
                serving -= 1
            log.info("device %s: %s disconnected", self.device_id, stream.peer)
            if not serving:
                self.intake.report_state(
                    self.device_id, DeviceState.DISCONNECTED, f"{stream.peer} closed"
                )

        async with asyncio.TaskGroup() as connections:
            async for accepted in listener:
                stream = _TrackedStream(accepted)
                if len(live) >= self.max_connections and not await self._make_room(live, stream):
                    continue
                live.add(stream)
                connections.create_task(serve_one(stream))

    async def _make_room(self, live: set[_TrackedStream], new: _TrackedStream) -> bool:
        """At the cap: close the quietest connection if idle enough, else refuse ``new``."""
        quietest = min(live, key=lambda stream: stream.last_active)
        if time.monotonic() - quietest.last_active >= EVICTABLE_AFTER_S:
            live.discard(quietest)
            log.warning(
                "device %s: %d connections (the cap); closing the quietest, %s, for %s",
                self.device_id,
                self.max_connections,
                quietest.peer,
                new.peer,
            )
            self.intake.count_connection_dropped(self.device_id, "cap_evicted_idle")
            await quietest.close()  # its serve task reads EOF and ends
            return True
        log.warning(
            "device %s: %d busy connections (the cap); refusing %s",
            self.device_id,
            self.max_connections,
            new.peer,
        )
        self.intake.count_connection_dropped(self.device_id, "cap_refused")
        await new.close()
        return False


class _TrackedStream:
    """A :class:`ByteStream` that remembers when its peer last sent anything."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self.last_active = time.monotonic()

    @property
    def peer(self) -> str:
        return self._stream.peer

    async def read(self, max_bytes: int = 65536) -> bytes:
        data = await self._stream.read(max_bytes)
        if data:
            self.last_active = time.monotonic()
        return data

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    async def close(self) -> None:
        await self._stream.close()
