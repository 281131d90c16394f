"""Issue 14: a device disabled at runtime stays disabled across a restart, the TOML untouched.

An in-process gateway with a real Mosquitto serves two HL7 analyzers on ``listen://`` ports.
``Gateway.devices.disable`` stops one and records it in ``device-overrides.json`` beside the
store; the next gateway started from the same, unchanged TOML does not serve it, names it at
start, and a reload of that TOML does not bring it back. ``enable`` undoes it, durably too.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.canonical.events import DeviceState
from gateway.config.check import load_settings
from gateway.config.settings import Settings
from gateway.daemon import Gateway
from gateway.devices.overrides import OVERRIDES_FILE
from gateway.devices.supervisor import RunState
from tests.e2e.harness import async_wait_for, write_config
from tests.e2e.test_device_supervisor import devices_toml, feeding, listen_port, refuses_connections
from tests.hardware_sim.broker import Mosquitto

A, B = "analyzer-a", "analyzer-b"


async def started(settings: Settings, config: Path) -> tuple[Gateway, asyncio.Task[None]]:
    gateway = Gateway(settings, config)
    running = asyncio.create_task(gateway.run())
    await async_wait_for(
        lambda: gateway.devices.state(B).run_state is RunState.RUNNING, 30, "the gateway up"
    )
    return gateway, running


async def stopped(gateway: Gateway, running: asyncio.Task[None]) -> None:
    gateway.stop()
    await running


async def test_a_device_disabled_at_runtime_stays_disabled_across_a_restart(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ports = {A: listen_port(), B: listen_port()}
    config = write_config(tmp_path, mosquitto.url, devices=devices_toml(ports))
    toml = config.read_bytes()
    settings = load_settings(config)

    async with feeding(ports) as analyzers:
        gateway, running = await started(settings, config)
        try:
            await async_wait_for(
                lambda: analyzers[A].acked >= 3 and analyzers[B].acked >= 3, 60, "both delivering"
            )
            assert await gateway.devices.disable(A) is True
            assert refuses_connections(ports[A])
            assert gateway.devices.state(A).enabled is False
            # Reloading the unchanged TOML leaves the runtime state alone.
            outcome = await gateway.reloader.reload()
            assert (outcome.restarted, outcome.started, outcome.stopped) == ([], [], [])
            assert gateway.devices.state(A).detail == "stopped"
            assert refuses_connections(ports[A])
        finally:
            await stopped(gateway, running)

        gateway, running = await started(settings, config)
        try:
            assert "up: 1 devices (disabled: analyzer-a)" in caplog.text
            acked_b, refused_a = analyzers[B].acked, analyzers[A].refused
            await async_wait_for(
                lambda: analyzers[B].acked >= acked_b + 5 and analyzers[A].refused > refused_a,
                60,
                "B delivering while A is refused after the restart",
            )
            view = gateway.devices.state(A)
            assert (view.enabled, view.run_state, view.link) == (
                False,
                RunState.STOPPED,
                DeviceState.DISABLED,
            )
            # The unchanged TOML says enabled; the overlay still wins on reload.
            outcome = await gateway.reloader.reload()
            assert (outcome.applied, outcome.started, outcome.restarted) == (True, [], [])
            assert refuses_connections(ports[A])

            await gateway.devices.enable(A)
            acked_a = analyzers[A].acked
            await async_wait_for(lambda: analyzers[A].acked >= acked_a + 3, 60, "A delivering")
        finally:
            await stopped(gateway, running)

        gateway, running = await started(settings, config)
        try:
            assert gateway.devices.state(A).run_state is RunState.RUNNING
            acked_a = analyzers[A].acked
            await async_wait_for(lambda: analyzers[A].acked >= acked_a + 3, 60, "A after enable")
        finally:
            await stopped(gateway, running)

    assert config.read_bytes() == toml  # the TOML is never rewritten
    assert (tmp_path / OVERRIDES_FILE).is_file()
