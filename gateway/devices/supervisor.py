"""The per-device supervisor: start, stop, restart, enable or disable one device alone.

Each running device is one task running :func:`gateway.devices.run.run_device`; a failed runner
marks its device in error and is started again with backoff, never stopping another device.

Stopping a device cancels its task and waits for it, bounded (:class:`TaskJoins`), so its
connections and listening port are closed before :meth:`DeviceSupervisor.stop` returns. The
device is then ``disabled`` on the status board and ``wardlink_device_enabled`` reads 0, so a
stopped device is not taken for a disconnected one. Operations on one device are serialised by
its own lock; those on different devices never wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from adapters.canonical.events import DeviceState
from drivers.backoff import Backoff
from gateway.config.inventory import DeviceSettings
from gateway.devices.intake import Intake
from gateway.devices.overrides import DeviceOverrides
from gateway.devices.run import run_device
from gateway.devices.supervisor_errors import SupervisorClosedError, UnknownDeviceError
from gateway.envelope import utc_now
from gateway.status import LastError, StatusBoard
from gateway.task_joins import TaskJoins

log = logging.getLogger("wardlink.devices")

RunDevice = Callable[[DeviceSettings, Intake], Awaitable[None]]
"""Serve one device until cancelled; raising means its runner failed."""

STOP_TIMEOUT_S = 10.0
"""A runner that takes longer to stop is left behind (logged, counted, /healthz fails)."""

STOPPED_DETAIL = "stopped"
"""The status detail of a device stopped at runtime (one disabled in the configuration has none)."""


def restart_backoff() -> Backoff:
    return Backoff(minimum=0.5, maximum=30.0)


class RunState(StrEnum):
    RUNNING = "running"
    """Supervised: its runner serves it, or waits to be started again after a failure."""
    STOPPED = "stopped"
    """Not run: never started, stopped, or its runner returned."""


@dataclass(frozen=True)
class DeviceView:
    """One device as the supervisor and the status board see it, at one instant."""

    id: str
    kind: str
    enabled: bool
    """As configured: the TOML's ``enabled``, or the runtime overlay's where it has the device."""
    run_state: RunState
    link: DeviceState
    """The state the status topic shows: connected, disconnected, error or disabled."""
    detail: str | None
    started_at: datetime | None
    """When the current run began; ``None`` while stopped."""
    starts: int
    """Runs begun by start, restart or start_all since the gateway started."""
    restarts: int
    """Times the runner was started again after it failed."""
    last_error: LastError | None
    messages_total: int
    errors_total: int
    last_message_at: datetime | None


@dataclass
class _Device:
    settings: DeviceSettings
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    started_at: datetime | None = None
    starts: int = 0
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class DeviceSupervisor:
    """Every device of the inventory, each run by its own supervised task.

    Args:
        devices: the inventory, disabled devices included (they can be started at runtime).
        intake: what runners submit to (the pipeline).
        status: the status board, where crashes and stops are reported.
        tasks: bounded joins of cancelled tasks.
        run: serves one device until cancelled (tests pass a stand-in).
        stop_timeout_s: bound of each stop's join.
        backoff: a new restart backoff per run.
        overrides: where :meth:`enable` and :meth:`disable` record the state (none: nowhere).
    """

    def __init__(
        self,
        devices: Iterable[DeviceSettings],
        intake: Intake,
        status: StatusBoard,
        tasks: TaskJoins,
        *,
        run: RunDevice = run_device,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        backoff: Callable[[], Backoff] = restart_backoff,
        overrides: DeviceOverrides | None = None,
    ) -> None:
        self._devices = {device.id: _Device(device) for device in devices}
        self._intake = intake
        self._status = status
        self._tasks = tasks
        self._run = run
        self._stop_timeout_s = stop_timeout_s
        self._backoff = backoff
        self._overrides = overrides
        self._closed = False
        self._stopping: set[asyncio.Task[None]] = set()
        """Tasks a stop or restart is joining: shutdown joins them too."""

    @property
    def ids(self) -> list[str]:
        """Device ids in inventory order."""
        return list(self._devices)

    async def start(self, device_id: str) -> None:
        """Run the device; nothing happens if it already runs."""
        device = self._device(device_id)
        async with device.lock:
            if not device.running:
                self._launch(device)

    async def stop(self, device_id: str) -> bool:
        """Stop the device and wait, bounded, until its connections and port are closed.

        Stopping a stopped device is harmless. ``False`` when the runner did not finish within
        the bound: it is then left behind, logged and counted, and may still hold its port.
        """
        device = self._device(device_id)
        async with device.lock:
            if device.task is None:
                return True
            released = await self._cancel(device)
            self._status.report_state(device_id, DeviceState.DISABLED, STOPPED_DETAIL)
            log.info("device %s stopped", device_id)
            return released

    async def restart(self, device_id: str) -> bool:
        """Stop the device (bounded) and start it again; ``False`` as for :meth:`stop`."""
        device = self._device(device_id)
        async with device.lock:
            released = await self._cancel(device)
            self._launch(device)
            log.info("device %s restarted", device_id)
            return released

    async def enable(self, device_id: str) -> None:
        """Start the device and record it enabled, so it also runs after a restart."""
        await self.start(device_id)
        await self._record(device_id, enabled=True)

    async def disable(self, device_id: str) -> bool:
        """Stop the device and record it disabled; ``False`` as for :meth:`stop`."""
        released = await self.stop(device_id)
        await self._record(device_id, enabled=False)
        return released

    async def configure(self, settings: DeviceSettings) -> bool:
        """Adopt a new or changed entry: end its run, start it if enabled; ``False`` as for stop."""
        if settings.id not in self._devices:
            self._status.add_device(settings.id, enabled=settings.enabled)
        device = self._devices.setdefault(settings.id, _Device(settings))
        async with device.lock:
            released = await self._cancel(device)
            device.settings = settings
            if settings.enabled:
                self._launch(device)
            else:
                self._status.report_state(settings.id, DeviceState.DISABLED, None)
            return released

    async def remove(self, device_id: str) -> bool:
        """Stop the device and forget it; ``False`` as for :meth:`stop`."""
        released = await self.stop(device_id)
        del self._devices[device_id]
        return released

    async def start_all(self) -> None:
        """Start every device enabled in the configuration."""
        for device in self._devices.values():
            if device.settings.enabled:
                await self.start(device.settings.id)

    async def stop_all(self) -> bool:
        """Stop every device for shutdown, all within one bound; ``False`` if one is left behind.

        Devices keep their last state on the status board: the gateway, not the device, stops.
        Starting a device afterwards raises :class:`SupervisorClosedError`.
        """
        self._closed = True
        tasks = [device.task for device in self._devices.values() if device.task is not None]
        tasks += self._stopping
        for device in self._devices.values():
            device.task, device.started_at = None, None
        # A stuck runner must not keep the service from stopping: systemd would SIGKILL it in
        # the middle of the final flush instead.
        return await self._tasks.cancel_and_join(tasks, self._stop_timeout_s)

    def state(self, device_id: str) -> DeviceView:
        return self._view(self._device(device_id))

    def settings_of(self, device_id: str) -> DeviceSettings:
        """The device's inventory entry, as the supervisor runs it."""
        return self._device(device_id).settings

    def snapshot(self) -> list[DeviceView]:
        """Every device, in inventory order."""
        return [self._view(device) for device in self._devices.values()]

    async def _record(self, device_id: str, *, enabled: bool) -> None:
        device = self._device(device_id)
        device.settings = device.settings.model_copy(update={"enabled": enabled})
        if self._overrides is not None:
            await asyncio.to_thread(self._overrides.record, device_id, enabled)

    def _device(self, device_id: str) -> _Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise UnknownDeviceError(device_id, self._devices) from None

    def _launch(self, device: _Device) -> None:
        if self._closed:
            msg = f"device {device.settings.id} not started: the gateway is shutting down"
            raise SupervisorClosedError(msg)
        device_id = device.settings.id
        if self._status.snapshot(device_id).state is DeviceState.DISABLED:
            self._status.report_state(device_id, DeviceState.DISCONNECTED, "starting")
        device.starts += 1
        device.started_at = utc_now()
        device.task = asyncio.create_task(self._supervise(device), name=f"device:{device_id}")

    async def _cancel(self, device: _Device) -> bool:
        task, device.task, device.started_at = device.task, None, None
        if task is None:
            return True
        self._stopping.add(task)
        try:
            return await self._tasks.cancel_and_join([task], self._stop_timeout_s)
        finally:
            self._stopping.discard(task)

    async def _supervise(self, device: _Device) -> None:
        """Run the device until cancelled, starting it again after every failure."""
        device_id = device.settings.id
        backoff = self._backoff()
        while True:
            try:
                await self._run(device.settings, self._intake)
                log.warning("device %s runner returned; it stays stopped", device_id)
                return
            except Exception as exc:
                log.exception("device %s runner failed; restarting", device_id)
                self._status.report_state(device_id, DeviceState.ERROR, f"runner failed: {exc}")
            await asyncio.sleep(backoff.next_delay())
            device.restarts += 1

    def _view(self, device: _Device) -> DeviceView:
        settings = device.settings
        status = self._status.snapshot(settings.id)
        return DeviceView(
            id=settings.id,
            kind=settings.kind,
            enabled=settings.enabled,
            run_state=RunState.RUNNING if device.running else RunState.STOPPED,
            link=status.state,
            detail=status.detail,
            started_at=device.started_at if device.running else None,
            starts=device.starts,
            restarts=device.restarts,
            last_error=self._status.last_error(settings.id),
            messages_total=status.messages_total,
            errors_total=status.errors_total,
            last_message_at=status.last_message_at,
        )
