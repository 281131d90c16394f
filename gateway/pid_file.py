"""``gateway.pid`` beside the store: how ``wardlink reload`` finds the running gateway.

Only one gateway can own a store (the outbox's owner lock), so the process id written next to it
names that gateway without ambiguity. It is written once the store is owned and removed at stop;
a file left by a killed gateway names a process that is gone, which :func:`running_pid` detects.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PID_FILE = "gateway.pid"
PID_MAX = 4_194_304
"""Linux's highest possible process id (``pid_max`` cannot be set above it)."""


def pid_path(store_path: str | Path) -> Path:
    return Path(store_path).parent / PID_FILE


@contextlib.contextmanager
def pid_file(store_path: str | Path) -> Iterator[None]:
    """Hold ``gateway.pid`` (mode 0600) with this process's id while the body runs."""
    path = pid_path(store_path)
    tmp = path.with_name(f".{PID_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    try:
        yield
    finally:
        # A newer gateway may own the store by now: leave its file alone.
        if running_pid(store_path) == os.getpid():
            path.unlink(missing_ok=True)


class NoGatewayError(LookupError):
    """No running gateway owns the store: no pid file, an unreadable one, or its process is gone."""


def running_pid(store_path: str | Path) -> int:
    """The id of the gateway running on this store.

    Raises:
        NoGatewayError: saying why, in words for the operator.
    """
    path = pid_path(store_path)
    try:
        digits = path.read_text(encoding="ascii")[:32].strip()
    except FileNotFoundError:
        raise NoGatewayError(f"{path}: not found; is the gateway running on this store?") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NoGatewayError(f"{path}: cannot be read ({exc})") from None
    if not digits.isdecimal() or not 1 < int(digits) <= PID_MAX:
        raise NoGatewayError(f"{path}: holds no process id; delete it")
    pid = int(digits)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise NoGatewayError(f"{path}: process {pid} is not running (a stale file)") from None
    except PermissionError:
        pass  # it runs as another user (the service's): signalling it will say more
    return pid
