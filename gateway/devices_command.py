"""``wardlink devices list|show|enable|disable|restart``: the running gateway's devices.

Talks to the gateway's control surface (``[http] listen`` of the configuration) over
``/api/devices``; the gateway, not this command, does the work, so nothing here needs the store
or the devices. A table for people by default; ``--json`` prints the API's JSON as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gateway.config.check import load_settings
from gateway.config.errors import ConfigError

DEFAULT_CONFIG = Path("/etc/wardlink/wardlink.toml")
_COLUMNS = ("ID", "KIND", "STATE", "MESSAGES", "REJECTS", "RECONNECTS", "LAST MESSAGE", "ERROR")


class _Failed(Exception):
    """Said to the user on stderr; the command exits 1."""


def add_devices_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devices = commands.add_parser(
        "devices",
        help="list, show, enable, disable or restart devices of the running gateway",
        description="Ask the running gateway (at the configuration's [http] listen) about its "
        "devices, or enable, disable or restart one without restarting the gateway. "
        "Enable, disable and restart are answered only on a control surface that listens "
        "on 127.0.0.1.",
    )
    devices.add_argument("action", choices=["list", "show", "enable", "disable", "restart"])
    devices.add_argument("id", nargs="?", help="the device id (all but list)")
    devices.add_argument(
        "--config", "-c", type=Path, default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}"
    )
    devices.add_argument("--json", action="store_true", help="the API's JSON as it is")
    devices.set_defaults(func=run_devices_command)


def run_devices_command(args: argparse.Namespace) -> int:
    if (args.action == "list") != (args.id is None):
        need = "takes no ID" if args.action == "list" else "needs a device ID"
        print(f"wardlink devices {args.action}: {need}", file=sys.stderr)
        return 2
    try:
        base = f"http://{load_settings(args.config).http.listen}/api/devices"
    except ConfigError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    url = base if args.id is None else f"{base}/{quote(args.id, safe='')}"
    try:
        if args.action in ("list", "show"):
            answer = _call(url, "GET")
        else:
            answer = _call(f"{url}/{args.action}", "POST")
    except _Failed as exc:
        print(f"wardlink devices {args.action}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    elif args.action == "list":
        _table(answer)
    elif args.action == "show":
        _details(answer)
    else:
        print(f"{args.id}: {args.action} done; now {answer['device']['state']}")
        if not answer["stopped_in_time"]:
            print(f"{args.id}: did not stop in time and may still hold its port", file=sys.stderr)
    return 0


def _call(url: str, method: str) -> Any:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - http only, from config
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise _Failed(_error_text(exc)) from None
    except (OSError, ValueError) as exc:
        from gateway.devices.api import plain_words  # noqa: PLC0415 - keep every command light

        reason = plain_words(str(getattr(exc, "reason", exc)))
        msg = f"no gateway answers at {url} ({reason}); is it running? (systemctl status wardlink)"
        raise _Failed(msg) from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return f"{exc.code}: {json.loads(exc.read())['error']}"
    except (ValueError, KeyError, TypeError):
        return f"{exc.code}: {exc.reason}"


def _row(device: dict[str, Any]) -> tuple[str, ...]:
    counts = device["counts"]
    error = device["last_error"]["text"] if device["last_error"] else ""
    return (
        device["id"],
        device["kind"],
        device["state"],
        str(counts["messages"]),
        str(counts["rejects"]),
        str(counts["reconnects"]),
        device["last_message_at"] or "never",
        error[:60],
    )


def _table(devices: list[dict[str, Any]]) -> None:
    rows = [_COLUMNS, *(_row(device) for device in devices)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def _details(device: dict[str, Any]) -> None:
    error, simulator = device["last_error"], device["simulator"]
    lines = {
        **{key: device[key] for key in ("id", "kind", "state", "detail", "connection")},
        "dialect": device["dialect"],
        "enabled": _yes(device["enabled"])
        + f" (in the config: {_yes(device['enabled_in_config'])})",
        "last message": device["last_message_at"] or "never",
        "last error": f"{error['text']} (at {error['at']})" if error else "none",
        "started": device["started_at"],
        **{key.replace("_", " "): count for key, count in device["counts"].items()},
        "simulator": simulator["command"] if simulator else "none",
    }
    for key, value in lines.items():
        print(f"{key:<16} {'-' if value is None else value}")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
