"""Issue 13, acceptance 4: one device stopped and started at runtime while another delivers.

Two HL7 analyzers on ``listen://`` ports feed one in-process gateway and a real Mosquitto; the
reference consumer counts what reaches the broker for each. Analyzer A's device is stopped
through ``Gateway.devices``: its port closes and nothing more of it arrives, while B goes on.
Started again, A's analyzer reconnects and its messages arrive again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.canonical.events import DeviceState
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.devices.supervisor import RunState
from gateway.devices.supervisor_errors import UnknownDeviceError
from tests.e2e.harness import ConsumerProcess, async_wait_for, http_get, metric_value, write_config
from tests.e2e.test_status_topics import BASE, StatusWatcher
from tests.hardware_sim.broker import Mosquitto
from tests.hardware_sim.hl7_feeder import KeepSending

A, B = "analyzer-a", "analyzer-b"


def listen_port() -> int:
    """A free port below the ephemeral range.

    While device A is stopped its port is free, and an outgoing connection (to the broker, from
    an analyzer) could be given it as its local port: the gateway could then not listen there
    again, and an analyzer retrying it could connect to itself.
    """
    low, _ = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    rng = random.Random()
    while True:
        port = rng.randrange(20_000, min(low, 32_000))
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def devices_toml(ports: dict[str, int]) -> str:
    return "".join(
        f'[[devices]]\nid = "{device}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
        for device, port in ports.items()
    )


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def bind_and_release(port: int) -> None:
    """Bind the port as a restarted listener would (SO_REUSEADDR, as asyncio sets it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


@contextlib.asynccontextmanager
async def feeding(ports: dict[str, int]) -> AsyncIterator[dict[str, KeepSending]]:
    analyzers = {device: KeepSending("127.0.0.1", port, device) for device, port in ports.items()}
    tasks = [asyncio.create_task(analyzer.run()) for analyzer in analyzers.values()]
    try:
        yield analyzers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_one_device_stops_and_starts_while_the_other_keeps_delivering(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    ports = {A: listen_port(), B: listen_port()}
    settings = load_settings(
        write_config(tmp_path / "gw", mosquitto.url, devices=devices_toml(ports))
    )
    http_port = int(settings.http.listen.rsplit(":", 1)[1])
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    watcher = StatusWatcher(mosquitto)

    def at_broker(device: str) -> int:
        return sum(1 for e in consumer.envelopes() if e["device_id"] == device)

    def enabled_metric(device: str) -> float:
        _, body = http_get(http_port, "/metrics")
        return metric_value(body, "wardlink_device_enabled", f'device="{device}"')

    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        async with feeding(ports) as analyzers:
            await async_wait_for(
                lambda: at_broker(A) >= 5 and at_broker(B) >= 5, 60, "both analyzers delivering"
            )

            assert await gateway.devices.stop(A) is True

            # Released before stop returned: nothing listens, and the port can be bound again.
            assert refuses_connections(ports[A])
            bind_and_release(ports[A])
            stopped = gateway.devices.state(A)
            assert (stopped.run_state, stopped.link) == (RunState.STOPPED, DeviceState.DISABLED)
            committed_a = stopped.messages_total
            b_at_stop, refused_at_stop = at_broker(B), analyzers[A].refused
            await async_wait_for(
                lambda: (
                    at_broker(B) >= b_at_stop + 20 and analyzers[A].refused >= refused_at_stop + 5
                ),
                60,
                "B delivering while A's analyzer is refused",
            )
            await async_wait_for(
                lambda: at_broker(A) == committed_a, 30, "what A committed before its stop"
            )
            # B went on; A delivered nothing after its stop (its analyzer was refused meanwhile).
            assert at_broker(A) == committed_a
            assert gateway.devices.state(A).messages_total == committed_a
            assert gateway.devices.state(B).run_state is RunState.RUNNING
            assert await asyncio.to_thread(enabled_metric, A) == 0
            assert await asyncio.to_thread(enabled_metric, B) == 1
            await async_wait_for(
                lambda: watcher.states(f"{BASE}/device/{A}/status")[-1:] == ["disabled"],
                20,
                "A's retained status says disabled",
            )

            assert await gateway.devices.stop(A) is True  # twice: harmless
            with pytest.raises(UnknownDeviceError, match="no device 'analyzer-z'"):
                await gateway.devices.stop("analyzer-z")

            connections_a = analyzers[A].connections
            await gateway.devices.start(A)
            await async_wait_for(
                lambda: (
                    analyzers[A].connections > connections_a and at_broker(A) >= committed_a + 5
                ),
                60,
                "A's analyzer reconnected and delivering again",
            )
            assert await asyncio.to_thread(enabled_metric, A) == 1
            assert watcher.states(f"{BASE}/device/{A}/status")[-1] != "disabled"

            connections_b, b_at_restart = analyzers[B].connections, at_broker(B)
            assert await gateway.devices.restart(B) is True
            await async_wait_for(
                lambda: (
                    analyzers[B].connections > connections_b and at_broker(B) >= b_at_restart + 5
                ),
                60,
                "B's analyzer reconnected after the restart",
            )
            assert gateway.devices.state(B).starts == 2
            assert gateway.devices.state(A).starts == 2

        acked = {device: analyzer.acked for device, analyzer in analyzers.items()}
        assert all(analyzer.negative == 0 for analyzer in analyzers.values())
        # Everything the gateway acknowledged reached the broker.
        await async_wait_for(
            lambda: all(at_broker(device) >= acked[device] for device in acked), 60, "all acked"
        )
    finally:
        gateway.stop()
        await running
        watcher.close()
    summary = consumer.stop()
    assert (summary["duplicates"], summary["sequence_gaps"]) == (0, {})
