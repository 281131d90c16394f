"""Keeping a device's connection(s) up, for every runner: connect out or accept in.

``serial://`` and ``tcp://`` connections are reopened with backoff whenever they fail or drop;
on ``listen://`` any number of peers may connect at once and the device counts as connected
while at least one is. Trouble is reported once per change of state (Home Assistant's rule: an
unavailable device is logged once, not at every retry). The runner supplies ``serve``, which
pumps one connection until EOF and closes it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

from adapters.canonical.events import DeviceState
from drivers.backoff import Backoff
from drivers.base import ByteStream, OpenFailedError
from drivers.registry import accepts_connections, open_listener, open_stream
from gateway.intake import Intake

log = logging.getLogger(__name__)

Serve = Callable[[ByteStream], Awaitable[None]]


async def keep_connected(
    device_id: str,
    url: str,
    intake: Intake,
    serve: Serve,
    *,
    backoff: Backoff | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Run until cancelled. Raises ``InvalidUrlError`` for an unusable URL (a config error)."""
    link = _Link(device_id, url, intake, serve, backoff or Backoff(), tls)
    await (link.accept() if accepts_connections(url) else link.connect())


@dataclass
class _Link:
    device_id: str
    url: str
    intake: Intake
    serve: Serve
    backoff: Backoff
    tls: ssl.SSLContext | None
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
        connected = 0

        async def serve_one(stream: ByteStream) -> None:
            nonlocal connected
            connected += 1
            if connected == 1:
                self.intake.report_state(self.device_id, DeviceState.CONNECTED, stream.peer)
            log.info("device %s: %s connected", self.device_id, stream.peer)
            try:
                await self.serve(stream)
            except Exception:
                log.exception("device %s: connection from %s failed", self.device_id, stream.peer)
                await stream.close()
            finally:
                connected -= 1
            log.info("device %s: %s disconnected", self.device_id, stream.peer)
            if not connected:
                self.intake.report_state(
                    self.device_id, DeviceState.DISCONNECTED, f"{stream.peer} closed"
                )

        async with asyncio.TaskGroup() as connections:
            async for stream in listener:
                connections.create_task(serve_one(stream))
