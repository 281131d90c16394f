"""Devices enabled or disabled at runtime, kept beside the store in ``device-overrides.json``.

The TOML stays human-edited and is never rewritten: what an operator enables or disables at
runtime is recorded here instead, and wins over the TOML's ``enabled`` at every start and reload
until the device is enabled or disabled again (or the file is deleted). The file is small JSON,
``{"devices": {"<id>": true|false}}``, written atomically and readable by the gateway's user only.
A file that cannot be used (garbage, too large, wrong types) is ignored with a warning: the TOML
alone then decides, and the gateway never fails to start because of it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from gateway.config.inventory import DeviceSettings

log = logging.getLogger("wardlink.devices")

OVERRIDES_FILE = "device-overrides.json"
MAX_BYTES = 256 * 1024
"""Far above any real inventory; a larger file is not read (a runaway writer, or not ours)."""


class DeviceOverrides:
    """The overlay file at ``path``; :meth:`beside` names the one next to a store."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, store_path: str | Path) -> DeviceOverrides:
        return cls(Path(store_path).parent / OVERRIDES_FILE)

    def load(self) -> dict[str, bool]:
        """Device id → enabled; empty when the file is missing or unusable (warned)."""
        try:
            with self.path.open("rb") as stream:
                raw = stream.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            return self._unusable(f"cannot be read: {exc.strerror}")
        if len(raw) > MAX_BYTES:
            return self._unusable(f"is larger than {MAX_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._unusable("is not valid UTF-8 JSON")
        devices = data.get("devices") if isinstance(data, dict) else None
        if not isinstance(devices, dict):
            return self._unusable('has no "devices" object')
        kept = {key: value for key, value in devices.items() if isinstance(value, bool)}
        if len(kept) != len(devices):
            log.warning(
                "%s: ignored %d entries that are not true or false",
                self.path,
                len(devices) - len(kept),
            )
        return kept

    def apply(self, devices: Iterable[DeviceSettings]) -> list[DeviceSettings]:
        """The inventory with the recorded runtime state in place of the TOML's ``enabled``."""
        overrides = self.load()
        return [
            device.model_copy(update={"enabled": overrides[device.id]})
            if device.id in overrides
            else device
            for device in devices
        ]

    def record(self, device_id: str, enabled: bool) -> None:
        """Remember the device's runtime state, durably (tmp file, fsync, rename, fsync dir)."""
        overrides = {**self.load(), device_id: enabled}
        body = json.dumps({"devices": overrides}, indent=2, sort_keys=True).encode() + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        # The rename itself must survive a power cut, or the old state comes back.
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _unusable(self, why: str) -> dict[str, bool]:
        log.warning(
            "%s %s; ignoring it, the TOML alone decides which devices run "
            "(delete the file, or enable/disable a device to rewrite it)",
            self.path,
            why,
        )
        return {}


def disabled_names(devices: Iterable[DeviceSettings]) -> str:
    """`` (disabled: x, y)`` for the start log line, or nothing when every device runs."""
    disabled = [device.id for device in devices if not device.enabled]
    return f" (disabled: {', '.join(disabled)})" if disabled else ""
