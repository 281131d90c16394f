"""What the per-device supervisor refuses; :mod:`gateway.devices.supervisor` re-exports both."""

from __future__ import annotations

from collections.abc import Iterable


class UnknownDeviceError(LookupError):
    """The id names no device of the inventory."""

    def __init__(self, device_id: str, known: Iterable[str]) -> None:
        self.device_id = device_id
        super().__init__(
            f"no device {device_id[:80]!r} in the inventory; known: {', '.join(known) or 'none'}"
        )


class SupervisorClosedError(RuntimeError):
    """A device was to be started after :meth:`DeviceSupervisor.stop_all` (shutdown)."""
