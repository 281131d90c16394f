"""``/api/devices``: every device's state as JSON, and enable / disable / restart one.

``GET /api/devices`` lists every device of the inventory; ``GET /api/devices/{id}`` one;
``POST /api/devices/{id}/enable|disable|restart`` acts on one through the supervisor and
answers the device afterwards (only where :mod:`gateway.http` allows actions). An id is looked
up exactly, after percent-decoding, among the inventory's ids: nothing in a path is ever used as
a file name or passed on, so ``..`` or stray bytes are only an unknown id (404). The fields are
documented in ``docs/devices-api.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from adapters.canonical.events import DeviceState
from drivers.registry import accepts_connections
from gateway.config.credentials import redact
from gateway.devices.registry import device_kind
from gateway.devices.supervisor import DeviceSupervisor, DeviceView, RunState
from gateway.devices.supervisor_errors import SupervisorClosedError, UnknownDeviceError
from gateway.http import Reply, Request
from gateway.status import StatusBoard

PREFIX = "/api/devices"
_OS_ERROR = re.compile(r"\[Errno (\d{1,5})\][^;]*")
"""``[Errno 111] Connect call failed ('127.0.0.1', 2575)``: the OS's words without the noise."""
ACTIONS = ("enable", "disable", "restart")


class DevicesApi:
    """The route :class:`gateway.http.ControlServer` asks about ``/api/devices...``."""

    def __init__(self, supervisor: DeviceSupervisor, status: StatusBoard) -> None:
        self._supervisor = supervisor
        self._status = status

    async def __call__(self, request: Request, actions_allowed: bool) -> Reply | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        parts = request.path[len(PREFIX) :].split("/")[1:]
        if not parts:
            return self._only(request, "GET") or Reply(200, self.listing())
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in ACTIONS):
            return Reply(404, {"error": f"no such route; {PREFIX}/ID[/{'|'.join(ACTIONS)}]"})
        device_id = unquote(parts[0], errors="replace")
        if device_id not in self._supervisor.ids:
            return Reply(404, {"error": f"no device {device_id[:80]!r}"})
        if len(parts) == 1:
            return self._only(request, "GET") or Reply(200, self.device(device_id))
        return self._only(request, "POST") or await self._act(parts[1], device_id, actions_allowed)

    def listing(self) -> list[dict[str, Any]]:
        return [self._json(view) for view in self._supervisor.snapshot()]

    def device(self, device_id: str) -> dict[str, Any]:
        return self._json(self._supervisor.state(device_id))

    async def _act(self, action: str, device_id: str, allowed: bool) -> Reply:
        if not allowed:
            return Reply(
                403,
                {
                    "error": "device actions are answered only on a loopback control surface "
                    "(http.listen 127.0.0.1) and never to a web browser, until the admin page "
                    "brings a login"
                },
            )
        act: dict[str, Callable[[str], Awaitable[bool | None]]] = {
            "enable": self._supervisor.enable,
            "disable": self._supervisor.disable,
            "restart": self._supervisor.restart,
        }
        try:
            released = await act[action](device_id)
        except (UnknownDeviceError, SupervisorClosedError) as exc:
            return Reply(503, {"error": str(exc)})
        return Reply(
            200,
            {
                "action": action,
                # False: the runner did not stop within its bound and may still hold its port.
                "stopped_in_time": released is not False,
                "device": self.device(device_id),
            },
        )

    @staticmethod
    def _only(request: Request, method: str) -> Reply | None:
        if request.method == method:
            return None
        return Reply(405, {"error": f"{request.method[:16]} not allowed here; use {method}"})

    def _json(self, view: DeviceView) -> dict[str, Any]:
        settings = self._supervisor.settings_of(view.id)
        simulator = device_kind(view.kind).simulator
        return {
            "id": view.id,
            "kind": view.kind,
            "dialect": settings.dialect,
            "dialect_chosen": None,
            "connection": redact(settings.connection),
            "enabled": view.run_state is RunState.RUNNING,
            "enabled_in_config": view.enabled,
            "state": _state(view, listens=accepts_connections(settings.connection)),
            "detail": None if view.detail is None else plain_words(view.detail),
            "last_error": None
            if view.last_error is None
            else {"text": plain_words(view.last_error.text), "at": _time(view.last_error.at)},
            "last_message_at": _time(view.last_message_at),
            "started_at": _time(view.started_at),
            "counts": {
                "messages": view.messages_total,
                "rejects": self._status.rejects_total(view.id),
                "reconnects": self._status.reconnects_total(view.id),
                "errors": view.errors_total,
                "runner_restarts": view.restarts,
            },
            "simulator": None
            if simulator is None
            else {"name": simulator.name, "command": f"wardlink sim {simulator.name}"},
        }


def _state(view: DeviceView, *, listens: bool) -> str:
    """connected, listening, idle, error or disabled (``docs/devices-api.md``)."""
    if view.run_state is RunState.STOPPED or view.link is DeviceState.DISABLED:
        return "disabled"
    if view.link is DeviceState.CONNECTED:
        return "connected"
    if view.link is DeviceState.ERROR:
        return "error"
    return "listening" if listens else "idle"


def plain_words(text: str) -> str:
    """``text`` with OS error codes said in words and URL credentials masked."""
    return _OS_ERROR.sub(lambda match: os.strerror(int(match[1])).lower(), redact(text))


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")
