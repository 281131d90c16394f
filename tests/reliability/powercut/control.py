"""The power-cut server's control channel: a unix socket taking one command line per connection.

Each connection sends one line (``stats``, ``freeze``) and gets one JSON line back; an unknown
command gets ``{"error": command}``. It runs on its own daemon thread so that the test can ask
even while libfuse's loop is blocked; the commands themselves take the operations' lock.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Command = Callable[[], dict[str, Any]]


def serve_control(path: Path, commands: Mapping[str, Command]) -> None:
    """Listen on ``path`` (replacing a stale socket) and answer from a daemon thread."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    server.bind(str(path))
    server.listen()
    threading.Thread(target=_control_loop, args=(server, commands), daemon=True).start()


def _control_loop(server: socket.socket, commands: Mapping[str, Command]) -> None:
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile("rw") as channel:
            command = channel.readline().strip()
            answer = commands[command]() if command in commands else {"error": command}
            channel.write(json.dumps(answer) + "\n")
