"""Device supervision: run one device's runner, restarting it with backoff when it fails.

A runner that crashes marks its device in error on the status board and is started again; one
device's failures never stop the gateway or another device.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.canonical.events import DeviceState
from drivers.backoff import Backoff
from gateway.intake import Intake
from gateway.registry import DEVICE_KINDS, options_model_of, resolve
from gateway.status import StatusBoard

log = logging.getLogger("wardlink.daemon")


@dataclass(frozen=True)
class RunnerDevice:
    """What a device runner gets: the inventory entry with its options validated by its kind."""

    id: str
    kind: str
    connection: str
    dialect: str
    encoding: str
    options: Any


async def supervise_device(device: Any, intake: Intake, status: StatusBoard) -> None:
    """Run ``device``'s runner until it returns, restarting it after every failure."""
    spec = DEVICE_KINDS[device.kind]
    options_model = options_model_of(device.kind)
    runner: Callable[[RunnerDevice, Intake], Awaitable[None]] = resolve(spec.runner)
    runner_device = RunnerDevice(
        id=device.id,
        kind=device.kind,
        connection=device.connection,
        dialect=device.dialect,
        encoding=device.encoding,
        options=options_model.model_validate(device.options or {}),
    )
    backoff = Backoff(minimum=0.5, maximum=30.0)
    while True:
        try:
            await runner(runner_device, intake)
            return
        except Exception as exc:
            log.exception("device %s runner failed; restarting", device.id)
            status.report_state(device.id, DeviceState.ERROR, f"runner failed: {exc}")
            await asyncio.sleep(backoff.next_delay())
