"""The forwarder never stalls silently (issue 11, defect 1; acceptance 3).

- A session task that swallows its cancellation does not keep the forwarder from reconnecting.
- One that ignores every cancellation is left behind: /healthz fails, and SIGTERM still stops
  the process.
- A forwarder that hangs (the broker link stays up, but no PUBACK ever comes back) turns
  /healthz to 503 within ``stall_after_s``, and back to 200 once PUBACKs flow again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.canonical.events import Identification, IdentificationSource
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.forwarding.forwarder import Forwarder
from tests.e2e.harness import (
    PYTHON,
    ConsumerProcess,
    _env,
    async_wait_for,
    http_get,
    metric_value,
    wait_for,
    write_config,
)
from tests.e2e.stubborn_gateway import STUBBORN, ignore_every_cancellation
from tests.hardware_sim.broker import Mosquitto, wait_for_port
from tests.hardware_sim.fault_proxy import FaultProxy

ORIGINAL_STATUSES = Forwarder._publish_statuses


async def swallow_one_cancellation(forwarder: Forwarder, client: Any) -> None:
    """The status task as Python 3.11's wait_for can leave it: one cancellation swallowed."""
    with contextlib.suppress(asyncio.CancelledError):
        await ORIGINAL_STATUSES(forwarder, client)
    await asyncio.Event().wait()  # back to waiting, as the real task did


async def http(port: int, path: str) -> tuple[int, str]:
    try:
        return await asyncio.to_thread(http_get, port, path)
    except OSError:  # not listening yet
        return 0, ""


async def until_http(
    port: int, path: str, check: Callable[[int, str], bool], timeout_s: float, what: str
) -> tuple[int, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        status, body = await http(port, path)
        if check(status, body):
            return status, body
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}: {body}")
        await asyncio.sleep(0.1)


def scan(n: int) -> Identification:
    return Identification(source=IdentificationSource.BARCODE, data=f"SP{n}")


def connected(_status: int, body: str) -> bool:
    return metric_value(body, "wardlink_broker_connected") == 1


async def test_a_task_that_swallows_its_cancellation_does_not_stop_delivery(
    tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Forwarder, "_publish_statuses", swallow_one_cancellation)
    settings = load_settings(write_config(tmp_path / "gw", mosquitto.url))
    port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await until_http(port, "/metrics", connected, 30, "first connection")
        mosquitto.stop()  # the session ends; its tasks are cancelled
        await until_http(port, "/metrics", lambda s, b: not connected(s, b), 30, "disconnect")
        mosquitto.start()
        await until_http(port, "/metrics", connected, 30, "reconnection after the reset")
        consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
        ids = [await gateway.pipeline.submit("dev-1", scan(n)) for n in range(5)]
        await async_wait_for(lambda: set(ids) <= set(consumer.ids()), 30, "delivery")
        consumer.stop()
        _, body = await http(port, "/metrics")
        assert metric_value(body, "wardlink_tasks_stuck") == 0  # the second cancel ended it
    finally:
        gateway.stop()
        await asyncio.wait_for(running, 60)


async def test_a_task_that_ignores_cancellation_fails_liveness_not_delivery(
    tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Forwarder, "_publish_statuses", ignore_every_cancellation)
    settings = load_settings(write_config(tmp_path / "gw", mosquitto.url))
    port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await until_http(port, "/metrics", connected, 30, "first connection")
        mosquitto.stop()
        mosquitto.start()
        _status, body = await until_http(
            port, "/healthz", lambda s, _b: s == 503, 60, "liveness failing on the stuck task"
        )
        assert "forwarder-statuses" in json.loads(body)["checks"]["tasks"]
        _, text = await until_http(port, "/metrics", connected, 30, "reconnection")
        assert metric_value(text, "wardlink_tasks_stuck") == 1
        assert (
            metric_value(text, "wardlink_task_join_timeouts_total", 'task="forwarder-statuses"')
            == 1
        )
        consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
        ids = [await gateway.pipeline.submit("dev-1", scan(n)) for n in range(5)]
        await async_wait_for(lambda: set(ids) <= set(consumer.ids()), 30, "delivery")
        consumer.stop()
    finally:
        gateway.stop()
        await asyncio.wait_for(running, 60)  # bounded, stuck task or not
        STUBBORN["on"] = False  # let the left-behind task end before the test's loop closes
        for task in asyncio.all_tasks():
            if task.get_name() == "forwarder-statuses":
                task.cancel()


def test_sigterm_stops_a_gateway_whose_task_ignores_cancellation(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = write_config(tmp_path / "gw", mosquitto.url)
    http_port = int(load_settings(config).http.listen.rsplit(":", 1)[1])
    log = tmp_path / "gateway.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [PYTHON, "-m", "tests.e2e.stubborn_gateway", "run", "--config", str(config)],
            stderr=err,
            env=_env(),
        )
    try:
        wait_for_port("127.0.0.1", http_port, 30)
        wait_for(lambda: connected(*http_get(http_port, "/metrics")), 30, "gateway connected")
        proc.terminate()
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert code == 1, text[-3000:]  # stopped, and says a task was left behind
    assert "forwarder-statuses still ran" in text
    assert "1 task(s) did not stop" in text


async def test_a_hung_forwarder_turns_liveness_503_within_stall_after_s(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with FaultProxy(0, mosquitto.host, mosquitto.port) as proxy:
        config = write_config(
            tmp_path / "gw", f"mqtt://127.0.0.1:{proxy.port}", mqtt={"stall_after_s": 3}
        )
        settings = load_settings(config)
        port = int(settings.http.listen.rsplit(":", 1)[1])
        gateway = Gateway(settings)
        running = asyncio.create_task(gateway.run())
        try:
            await until_http(port, "/metrics", connected, 30, "connection through the proxy")
            await gateway.pipeline.submit("dev-1", scan(0))
            await until_http(
                port,
                "/metrics",
                lambda _s, b: metric_value(b, "wardlink_forward_messages_total", _IDENT) == 1,
                30,
                "a PUBACK while the link is healthy",
            )
            status, _ = await http(port, "/healthz")
            assert status == 200

            proxy.pause("down")  # the broker's answers, PUBACKs among them, never arrive
            hung_at = time.monotonic()
            for n in range(1, 4):
                await gateway.pipeline.submit("dev-1", scan(n))
            _, body = await until_http(
                port, "/healthz", lambda s, _b: s == 503, 60, "liveness failing on the stall"
            )
            waited = time.monotonic() - hung_at
            assert waited >= 3  # never before stall_after_s
            check = json.loads(body)["checks"]["forwarder"]
            assert re.fullmatch(
                r"stalled: [1-3] rows pending, no PUBACK or ack for \d+ s while connected to "
                r"the broker",
                check,
            )
            _, text = await http(port, "/metrics")
            assert metric_value(text, "wardlink_forward_stalled_seconds") >= 3
            assert metric_value(text, "wardlink_broker_connected") == 1  # the hang is silent

            proxy.resume("down")
            await until_http(port, "/healthz", lambda s, _b: s == 200, 60, "recovery")
        finally:
            gateway.stop()
            await asyncio.wait_for(running, 60)


_IDENT = 'device="dev-1",kind="ident"'
