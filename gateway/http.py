"""The control surface: Prometheus ``/metrics``, ``/healthz``, ``/readyz`` and ``/api/...``.

A deliberately tiny HTTP/1.1 responder on asyncio streams: three GET routes do not justify a web
framework on a Raspberry Pi. ``/healthz`` means the event loop and the store still answer (a wedged
store thread fails it, so a supervisor can restart the process); ``/readyz`` means "data given to
this gateway is safe": the store takes writes, and the broker is reachable or the backlog is
buffering within quota. ``/api/...`` routes answer JSON for the operator's commands (e.g.
``/api/unmapped-codes`` for ``wardlink unmapped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("wardlink.http")

_MAX_REQUEST_LINE = 4096


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checks: dict[str, str]


class ControlPortError(Exception):
    """The control surface cannot listen (port in use, address not on this host): a config error."""


class ControlServer:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        liveness: Callable[[], Verdict],
        readiness: Callable[[], Verdict],
        *,
        api: dict[str, Callable[[], object]] | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._registry = registry
        self._probes = {"/healthz": liveness, "/readyz": readiness}
        self._api = api or {}
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        except OSError as exc:
            # EADDRINUSE above all: a traceback and exit 1 would make systemd restart in a loop.
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            msg = f"cannot listen on {self._host}:{self._port}: {reason}"
            raise ControlPortError(msg) from None
        log.info(
            "control surface on http://%s:%d (/metrics /healthz /readyz)", self._host, self.port
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers are not needed by any route
            status, content_type, body = self._route(request[:_MAX_REQUEST_LINE])
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _route(self, request_line: bytes) -> tuple[str, str, bytes]:
        parts = request_line.decode("latin-1").split()
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", "text/plain", b"only GET\n"
        path = parts[1].split("?", 1)[0]
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self._registry)
        probe = self._probes.get(path)
        if probe is not None:
            verdict = probe()
            body = json.dumps({"ok": verdict.ok, "checks": verdict.checks}).encode()
            status = "200 OK" if verdict.ok else "503 Service Unavailable"
            return status, "application/json", body + b"\n"
        answer = self._api.get(path)
        if answer is not None:
            return "200 OK", "application/json", json.dumps(answer()).encode() + b"\n"
        routes = " ".join(["/metrics", *self._probes, *self._api])
        return "404 Not Found", "text/plain", f"routes: {routes}\n".encode()
