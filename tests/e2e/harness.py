"""End-to-end helpers: config files, the reference consumer as a real process, waiting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hardware_sim.broker import Mosquitto, free_port

PYTHON = sys.executable


def write_config(
    directory: Path,
    broker_url: str,
    *,
    mqtt: dict[str, Any] | None = None,
    store: dict[str, Any] | None = None,
    devices: str | None = None,
) -> Path:
    """A wardlink.toml for one test: its own store, a free HTTP port, one idle device."""
    directory.mkdir(parents=True, exist_ok=True)
    mqtt_keys = {"url": broker_url, "reconnect_min_s": 0.1, "reconnect_max_s": 1.0, **(mqtt or {})}
    store_keys = {"path": str(directory / "outbox.db"), **(store or {})}
    lines = [
        "config_version = 1",
        "[gateway]",
        'site = "test-site"',
        'ward = "icu-1"',
        'id = "gw-1"',
        "[mqtt]",
        *(f"{k} = {_toml(v)}" for k, v in mqtt_keys.items()),
        "[store]",
        *(f"{k} = {_toml(v)}" for k, v in store_keys.items()),
        "[http]",
        f'listen = "127.0.0.1:{free_port()}"',
    ]
    if devices is None:
        # An inventory entry the tests submit events for; disabled, so no runner connects.
        devices = (
            '[[devices]]\nid = "dev-1"\nkind = "serial-scanner"\n'
            'connection = "tcp://127.0.0.1:9"\nenabled = false\n'
        )
    path = directory / "wardlink.toml"
    path.write_text("\n".join(lines) + "\n" + devices, encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def wait_for(
    predicate: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s:.0f} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.05)


async def async_wait_for(
    predicate: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s:.0f} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)


class GrowingJsonLines:
    """A JSON-lines file another process appends to, read as it grows.

    Only the new bytes are read each time, and a line is parsed only once its newline is there:
    the writer may be caught mid-line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[dict[str, Any]]:
        if self.path.exists():
            with self.path.open("rb") as lines:
                lines.seek(self._offset)
                data = lines.read()
            self._offset += len(data)
            *complete, self._partial = (self._partial + data).split(b"\n")
            self.records += [json.loads(line) for line in complete]
        return self.records


class ConsumerProcess:
    """``wardlink consume`` as the centre runs it: a separate process writing JSON lines.

    One still running when its test ends is killed by ``close_leftover_consumers`` (an autouse
    fixture), so a failed test cannot leak its process into the next test's warnings.
    """

    def __init__(
        self,
        workdir: Path,
        broker_url: str,
        *,
        client_id: str = "central",
        ack: bool = False,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.out = workdir / f"{client_id}.jsonl"
        self.err = workdir / f"{client_id}.stderr"
        self._output = GrowingJsonLines(self.out)
        self._args = [
            PYTHON,
            "-m",
            "gateway",
            "consume",
            "--broker",
            broker_url,
            "--client-id",
            client_id,
            "--out",
            str(self.out),
            *extra,
        ]
        if ack:
            self._args.append("--ack")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        with self.err.open("ab") as err:
            self._proc = subprocess.Popen(self._args, stderr=err, env=_env())
        _RUNNING_CONSUMERS.add(self)
        marks = self.err.read_text().count("consuming ")
        wait_for(
            lambda: self.err.read_text().count("consuming ") >= marks + 2, 20, "consumer subscribed"
        )
        return self

    def envelopes(self) -> list[dict[str, Any]]:
        """Every complete envelope written so far, in arrival order."""
        return list(self._output.poll())

    def ids(self) -> list[str]:
        return [e["id"] for e in self.envelopes()]

    def stop(self) -> dict[str, Any]:
        """Stop and return the consumer's summary (received, unique, duplicates, gaps)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        self._proc.wait(timeout=20)
        self._proc = None
        _RUNNING_CONSUMERS.discard(self)
        summaries = [
            json.loads(line)["summary"]
            for line in self.err.read_text().splitlines()
            if line.startswith('{"summary"')
        ]
        summary: dict[str, Any] = summaries[-1]
        return summary

    def close(self) -> None:
        """Kill the process if a failed test left it running (``stop`` is the orderly way)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        _RUNNING_CONSUMERS.discard(self)

    def __enter__(self) -> ConsumerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


_RUNNING_CONSUMERS: set[ConsumerProcess] = set()


def close_leftover_consumers() -> None:
    for consumer in list(_RUNNING_CONSUMERS):
        consumer.close()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def http_get(port: int, path: str) -> tuple[int, str]:
    """GET from the gateway's control surface; (status, body)."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric_value(body: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


def central_offline(tmp_path: Path) -> tuple[Mosquitto, ConsumerProcess]:
    """A stopped broker that already holds the central consumer's persistent session.

    Like a real centre: the consumer subscribed once, then the broker went away. Whatever the
    gateway publishes after the broker comes back is queued for the consumer even before the
    consumer reconnects, so the tests do not race the consumer's reconnect.
    """
    broker = Mosquitto(tmp_path / "broker", persistence=True)
    broker.start()
    consumer = ConsumerProcess(tmp_path, broker.url).start()
    broker.stop()
    return broker, consumer
