"""``wardlink reload``: check the config file, then ask the running gateway to reload it.

The file is checked here first, exactly as the gateway will: a file with problems is reported
line by line and the gateway is not signalled, so it keeps its configuration. A usable file is
announced to the gateway with SIGHUP (the process in ``gateway.pid`` beside the store, as
``systemctl reload wardlink`` does through ``ExecReload``); the gateway logs which devices it
restarted, started and stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gateway.config.check import load_settings
from gateway.config.errors import ConfigError
from gateway.pid_file import NoGatewayError, running_pid


def add_reload_command(commands: Any) -> None:  # argparse's subparsers action has no public type
    reload = commands.add_parser(
        "reload",
        help="check the config file, then have the running gateway apply it (SIGHUP)",
        description="Check the config file, then have the running gateway apply it: only "
        "devices whose entry changed restart. A file with problems changes nothing.",
    )
    reload.add_argument("--config", "-c", type=Path, required=True)
    reload.set_defaults(func=_cmd_reload)


def _cmd_reload(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{args.config}: not reloaded; the gateway keeps its configuration", file=sys.stderr)
        return 1
    try:
        pid = running_pid(settings.store.path)
        os.kill(pid, signal.SIGHUP)
    except NoGatewayError as exc:
        print(f"not reloaded: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"not reloaded: cannot signal the gateway: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"{args.config}: ok; asked gateway {pid} to reload it. Its log names the devices it "
        "restarted, started and stopped (journalctl -u wardlink)."
    )
    return 0
