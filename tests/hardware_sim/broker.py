"""Brokers for tests and the demo: a real Mosquitto on a free port, or embedded amqtt.

Mosquitto is what a ward node runs; amqtt (pure Python, MQTT 3.1.1 only) stands in when the
machine has no Mosquitto, which also exercises the gateway's MQTT 3.1.1 fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Mosquitto:
    """A Mosquitto process on a fixed free port that tests can stop, kill and restart."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        acl: str | None = None,
        persistence: bool = False,
        extra_conf: str = "",
    ) -> None:
        binary = find_mosquitto()
        if binary is None:
            msg = "mosquitto is not installed: `make test` installs the Debian package"
            raise RuntimeError(msg)
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {workdir}/",
            # Run as root, Mosquitto would drop to user `mosquitto`, which cannot read pytest's
            # private temporary folders; stay the invoking user (ignored when not root).
            f"user {getpass.getuser()}",
        ]
        if acl is not None:
            acl_path = workdir / "acl"
            acl_path.write_text(acl)
            lines.append(f"acl_file {acl_path}")
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n" + extra_conf)
        self.log = workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.host, self.port)
        except OSError:
            self.stop(kill=True)
            msg = f"mosquitto did not start; its log says:\n{self.log.read_text()[-2000:]}"
            raise RuntimeError(msg) from None

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self._proc.wait(timeout=10)
        self._proc = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextlib.asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Run amqtt in this event loop; yields the broker URL."""
    from amqtt.broker import Broker  # noqa: PLC0415 - optional, demo-only dependency

    # amqtt warns about its own defaults and logs errors for every MQTT 5 CONNECT it cannot read
    # (the gateway's probe before it falls back to 3.1.1) and every connection closed unread,
    # which buried the demo's coded events. A broker that truly fails shows in the gateway's log.
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    port = port or free_port()
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "sys_interval": 0,
        "auth": {"allow-anonymous": True},
        "topic-check": {"enabled": False},
    }
    broker = Broker(config)
    await broker.start()
    try:
        yield f"mqtt://{host}:{port}"
    finally:
        await broker.shutdown()
        await asyncio.sleep(0)
