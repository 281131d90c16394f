"""Run one device until cancelled: the single call the supervisor makes into a device kind.

It awaits the runner the kind's registry row names (``KindSpec.runner``): a per-kind runner, or
:func:`gateway.devices.run.run_device` for kinds already on the driving loop. Kept apart and
small so that moving the last kinds to the loop changes only this call, never the supervisor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.intake import Intake
from gateway.inventory import DeviceSettings
from gateway.registry import DEVICE_KINDS, options_model_of, resolve


@dataclass(frozen=True)
class RunnerDevice:
    """What a device runner gets: the inventory entry with its options validated by its kind."""

    id: str
    kind: str
    connection: str
    dialect: str
    encoding: str
    options: Any


async def run_kind_runner(device: DeviceSettings, intake: Intake) -> None:
    """Serve ``device`` until cancelled; an exception means the device's runner failed."""
    runner: Callable[[RunnerDevice, Intake], Awaitable[None]] = resolve(
        DEVICE_KINDS[device.kind].runner
    )
    options_model = options_model_of(device.kind)
    runner_device = RunnerDevice(
        id=device.id,
        kind=device.kind,
        connection=device.connection,
        dialect=device.dialect,
        encoding=device.encoding,
        options=options_model.model_validate(device.options or {}),
    )
    await runner(runner_device, intake)
