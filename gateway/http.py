"""The control surface: Prometheus ``/metrics``, ``/healthz``, ``/readyz`` and ``/api/...``.

A deliberately tiny HTTP/1.1 responder on asyncio streams: a handful of JSON routes do not justify
a web framework on a Raspberry Pi. ``/healthz`` means the event loop and the store still answer
(a wedged store thread fails it, so a supervisor can restart the process); ``/readyz`` means
"data given to this gateway is safe": the store takes writes, and the broker is reachable or the
backlog is buffering within quota. ``/api/...`` routes answer JSON for the operator's commands (e.g.
``/api/unmapped-codes`` for ``wardlink unmapped``, ``/api/devices`` for ``wardlink devices``).

Requests are bounded: a request line of 4 KiB, 16 KiB of headers, 1 KiB of body (no route reads
one), 10 s to arrive and 10 s for the answer to leave. A request past a size bound is answered
400, 413 or 431, one past its time is closed; none ever stops the gateway.

**Actions** (``POST``, e.g. ``/api/devices/{id}/disable``) change what the gateway does and have
no login yet: they are answered only while the control surface listens on a loopback address
(``127.0.0.1``, the default) and only to requests a web browser did not send (no ``Origin``
header, ``Host`` naming the loopback): a page on any site could otherwise make the operator's
browser post to ``127.0.0.1``. On any other address they are refused with 403 until the admin
page brings authentication (issue 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("wardlink.http")

_MAX_REQUEST_LINE = 4096
_MAX_HEADER_BYTES = 16384
_MAX_BODY_BYTES = 1024
_REQUEST_TIMEOUT_S = 10.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checks: dict[str, str]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Without the query string; still percent-encoded."""
    headers: Mapping[str, str]
    """Lower-cased names."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: object
    """Sent as JSON."""


Route = Callable[[Request, bool], Awaitable[Reply | None]]
"""Answers a request it owns, ``None`` for others; the flag: actions are allowed (see above)."""


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as in ``http.listen``) is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        routes: Sequence[Route] = (),
    ) -> None:
        self._host, self._port = host, port
        self._registry = registry
        self._probes = {"/healthz": liveness, "/readyz": readiness}
        self._api = api or {}
        self._routes = routes
        self.actions_allowed = is_loopback(host)
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
            try:
                async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                    request = await _read_request(reader)
                # Not under the request's timeout: cancelling a device's stop half way would
                # leave it neither running nor released. Actions are bounded by the supervisor.
                status, content_type, body = await self._route(request)
            except _Refused as refused:
                status, content_type = refused.status, "application/json"
                body = json.dumps({"error": str(refused)}).encode() + b"\n"
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                writer.write(head.encode() + body)
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(self, request: Request) -> tuple[int, str, bytes]:
        for route in self._routes:
            reply = await route(request, self.actions_allowed and _not_from_a_browser(request))
            if reply is not None:
                return reply.status, "application/json", json.dumps(reply.body).encode() + b"\n"
        if request.method != "GET":
            return 405, "text/plain", b"only GET\n"
        path = request.path
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        probe = self._probes.get(path)
        if probe is not None:
            verdict = probe()
            body = json.dumps({"ok": verdict.ok, "checks": verdict.checks}).encode()
            return (200 if verdict.ok else 503), "application/json", body + b"\n"
        answer = self._api.get(path)
        if answer is not None:
            return 200, "application/json", json.dumps(answer()).encode() + b"\n"
        routes = " ".join(["/metrics", *self._probes, *self._api, "/api/devices"])
        return 404, "text/plain", f"routes: {routes}\n".encode()


async def _read_request(reader: asyncio.StreamReader) -> Request:
    """The request line and headers, bounded; the body is never read (no route needs one)."""
    try:
        line = await reader.readline()
        parts = line[:_MAX_REQUEST_LINE].decode("latin-1").split()
        if len(line) > _MAX_REQUEST_LINE or len(parts) != 3:
            raise _Refused(400, "malformed request line")
        headers: dict[str, str] = {}
        size = 0
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            size += len(header)
            if size > _MAX_HEADER_BYTES:
                raise _Refused(431, "headers too large")
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
    except (ValueError, asyncio.LimitOverrunError):  # a line past the reader's limit
        raise _Refused(431, "request line or header too long") from None
    length = headers.get("content-length", "0")
    if not length.isdigit() or int(length) > _MAX_BODY_BYTES:
        raise _Refused(413, f"a body of at most {_MAX_BODY_BYTES} bytes")
    return Request(parts[0], parts[1].split("?", 1)[0], headers)


def _not_from_a_browser(request: Request) -> bool:
    """A browser names the page's origin; and ``Host`` must be the loopback (DNS rebinding)."""
    host = request.headers.get("host", "127.0.0.1").rsplit(":", 1)[0]
    return "origin" not in request.headers and is_loopback(host)
