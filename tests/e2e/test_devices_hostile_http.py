"""Issue 14: hostile input to ``/api/devices`` never crashes the gateway and never acts.

A real gateway process with two listening analyzers; requests over real sockets. After every
hostile request the gateway still answers, and both devices still run the run they started with
(``started_at`` unchanged): nothing was enabled, disabled or restarted.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config.check import load_settings
from tests.e2e.harness import PYTHON, _env, http_get, wait_for, write_config
from tests.e2e.test_device_supervisor import devices_toml, listen_port

A, B = "analyzer-a", "analyzer-b"


def request(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send ``raw`` as it is; the status code (0 when the gateway closed without one), the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        with contextlib.suppress(ConnectionError):
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), body


def devices(port: int) -> dict[str, dict[str, Any]]:
    status, body = http_get(port, "/api/devices")
    assert status == 200
    return {device["id"]: device for device in json.loads(body)}


@contextlib.contextmanager
def gateway_process(config: Path) -> Iterator[int]:
    port = int(load_settings(config).http.listen.rsplit(":", 1)[1])
    process = subprocess.Popen(
        [PYTHON, "-m", "gateway", "run", "--config", str(config)],
        env=_env(),
        stderr=subprocess.DEVNULL,
    )
    try:

        def both_listening() -> bool:
            with contextlib.suppress(OSError, AssertionError):
                return {d["state"] for d in devices(port).values()} == {"listening"}
            return False

        wait_for(both_listening, 30, "both devices listening")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_hostile_requests_never_crash_and_never_act(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "mqtt://127.0.0.1:1", devices=devices_toml({A: listen_port(), B: listen_port()})
    )
    with gateway_process(config) as port:
        before = devices(port)

        def unchanged() -> None:
            now = devices(port)
            assert {d: (now[d]["enabled"], now[d]["started_at"]) for d in now} == {
                d: (True, before[d]["started_at"]) for d in before
            }

        hostile = [
            b"GET /api/devices/" + b"A" * 100_000 + b" HTTP/1.1\r\n\r\n",
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\nX: " + b"x" * 70_000 + b"\r\n\r\n",
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n",
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"
            + b"z" * 200_000,
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\nOrigin: http://evil.example\r\n\r\n",
            b"POST /api/devices/analyzer-a/disable HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            b"GET /api/devices/analyzer-a/disable HTTP/1.1\r\n\r\n",
            b"DELETE /api/devices/analyzer-a HTTP/1.1\r\n\r\n",
            b"POST /api/devices HTTP/1.1\r\n\r\n",
            b"POST /api/devices/../analyzer-a/disable HTTP/1.1\r\n\r\n",
            b"POST /api/devices/analyzer-a%2Fdisable HTTP/1.1\r\n\r\n",
            b"POST /api/devices/%2e%2e%2fanalyzer-a/disable HTTP/1.1\r\n\r\n",
            b"POST /api/devices/analyzer-a/disable/now HTTP/1.1\r\n\r\n",
            b"POST /api/devices/analyzer-a/shutdown HTTP/1.1\r\n\r\n",
            b"\x00\xff\xfe garbage \r\n\r\n",
            b"\r\n\r\n",
            b"",
        ]
        answers = [request(port, raw)[0] for raw in hostile]
        assert answers == [431, 431, 431, 413, 413, 403, 403, 405, 405, 405] + [404] * 5 + [400] * 3
        unchanged()

        @settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(
            device_id=st.text(min_size=1, max_size=300).filter(lambda text: text not in before),
            action=st.sampled_from(["", "/enable", "/disable", "/restart"]),
        )
        def any_unknown_id(device_id: str, action: str) -> None:
            method = b"GET" if not action else b"POST"
            path = f"/api/devices/{quote(device_id, safe='')}{action}".encode()
            status, body = request(port, method + b" " + path + b" HTTP/1.1\r\n\r\n")
            assert status == 404
            assert "error" in json.loads(body)

        any_unknown_id()

        @settings(max_examples=100)
        @given(st.binary(max_size=2000))
        def any_bytes(raw: bytes) -> None:
            assert request(port, raw)[0] in (0, 400, 403, 404, 405, 413, 431, 200)

        any_bytes()
        unchanged()
        assert http_get(port, "/healthz")[0] in (200, 503)
