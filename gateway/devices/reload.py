"""Reload: apply a re-read ``wardlink.toml`` to the running gateway, one device at a time.

SIGHUP (and ``wardlink reload``, which sends it) re-reads the file and validates it exactly as
``wardlink config check`` does before anything changes: a file with problems changes nothing,
and each problem is logged with its file, key and fix. A valid file is compared with the running
inventory, entry by entry, after the runtime overlay (:mod:`gateway.devices.overrides`) is
applied to both: only devices whose entry changed restart, added devices start, removed devices
stop, and unchanged devices keep their connections. Sections that are read only at start (the
gateway's ids, mqtt, store, http) are reported as needing a restart and otherwise ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config.check import load_settings
from gateway.config.errors import ConfigError
from gateway.config.inventory import DeviceSettings
from gateway.config.settings import Settings
from gateway.devices.overrides import DeviceOverrides
from gateway.devices.registry import device_kind
from gateway.devices.supervisor import DeviceSupervisor, RunState
from gateway.devices.supervisor_errors import SupervisorClosedError

log = logging.getLogger("wardlink.reload")

STARTUP_ONLY = tuple(name for name in Settings.model_fields if name != "devices")
"""Settings sections a running gateway cannot change: a reload reports, never applies, them."""


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did; ``problems`` (the config check's lines) means it changed nothing."""

    problems: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)
    """Sections that changed but take effect only when the gateway restarts."""

    @property
    def applied(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return f"reload refused, nothing changed: {len(self.problems)} problem(s) in the file"
        parts = [
            f"{what}: {', '.join(ids)}"
            for what, ids in (
                ("restarted", self.restarted),
                ("started", self.started),
                ("stopped", self.stopped),
            )
            if ids
        ]
        changes = "; ".join(parts) or "no device changed"
        if self.needs_restart:
            changes += f"; changed but needing a restart: {', '.join(self.needs_restart)}"
        return f"reloaded: {changes}"


@dataclass(frozen=True)
class DevicePlan:
    """The devices to (re)configure, in the new file's order, and the ids to remove."""

    configure: list[DeviceSettings]
    remove: list[str]


def read_for_reload(path: Path) -> Settings | ReloadOutcome:
    """The new settings, or a refused outcome naming every problem as ``config check`` does."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        return ReloadOutcome(problems=exc.lines())


def startup_sections_changed(running: Settings, new: Settings) -> list[str]:
    return [name for name in STARTUP_ONLY if getattr(running, name) != getattr(new, name)]


def plan_devices(running: list[DeviceSettings], new: list[DeviceSettings]) -> DevicePlan:
    """Compare effective inventories (overlay applied): what must change, and nothing else."""
    current = {device.id: device for device in running}
    wanted = {device.id for device in new}
    return DevicePlan(
        configure=[device for device in new if current.get(device.id) != device],
        remove=[device_id for device_id in current if device_id not in wanted],
    )


class Reloader:
    """Applies the re-read config file to the running devices, one reload at a time.

    Args:
        path: the config file (``None``: the gateway was given none, and reload refuses).
        settings: the settings the gateway started with (its startup-only sections).
        inventory: the effective inventory running now (overlay applied).
        devices: the supervisor.
        overrides: the runtime overlay, applied to the new file's inventory too.
        on_configure: told of every added or changed entry before its device (re)starts.
        host_queries: whether the gateway subscribed to host-query answers at start.
    """

    def __init__(
        self,
        path: Path | None,
        settings: Settings,
        inventory: list[DeviceSettings],
        devices: DeviceSupervisor,
        overrides: DeviceOverrides,
        *,
        on_configure: Callable[[DeviceSettings], None],
        host_queries: bool,
    ) -> None:
        self._path = path
        self._settings = settings
        self.inventory = inventory
        self._devices = devices
        self._overrides = overrides
        self._on_configure = on_configure
        self._host_queries = host_queries
        self._lock = asyncio.Lock()

    async def reload(self) -> ReloadOutcome:
        """Reload and log the outcome: each problem of a refused file, then one summary."""
        if self._path is None:
            outcome = ReloadOutcome(problems=["no config file to reload: the gateway got none"])
        else:
            async with self._lock:
                try:
                    outcome = await self._apply(self._path)
                except SupervisorClosedError:  # SIGHUP during shutdown
                    outcome = ReloadOutcome(problems=["the gateway is shutting down"])
        for line in outcome.problems:
            log.warning("reload: %s", line)
        level = logging.INFO if outcome.applied else logging.WARNING
        log.log(level, "%s: %s", self._path, outcome.summary())
        return outcome

    async def _apply(self, path: Path) -> ReloadOutcome:
        new = await asyncio.to_thread(read_for_reload, path)
        if isinstance(new, ReloadOutcome):
            return new
        inventory = await asyncio.to_thread(self._overrides.apply, new.devices)
        # Re-applied to the running inventory too: enable/disable since then are recorded there.
        running_now = await asyncio.to_thread(self._overrides.apply, self.inventory)
        plan = plan_devices(running_now, inventory)
        outcome = ReloadOutcome(needs_restart=startup_sections_changed(self._settings, new))
        # Answers are subscribed to at start only when some device asked then.
        if not self._host_queries and any(
            d.enabled and device_kind(d.kind).asks_host for d in plan.configure
        ):
            outcome.needs_restart.append("host queries")
        running = {v.id for v in self._devices.snapshot() if v.run_state is RunState.RUNNING}
        for device_id in plan.remove:
            await self._devices.remove(device_id)
            if device_id in running:
                outcome.stopped.append(device_id)
        for device in plan.configure:
            self._on_configure(device)
            await self._devices.configure(device)
            if device.enabled:
                (outcome.restarted if device.id in running else outcome.started).append(device.id)
            elif device.id in running:
                outcome.stopped.append(device.id)
        self.inventory = inventory
        return outcome
