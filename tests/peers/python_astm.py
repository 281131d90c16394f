"""python-astm 0.5.0 (kxepal/python-astm, BSD) as an ASTM peer and oracle we did not write.

It dates from 2013 and needs care on Python 3.11:

- ``astm.codec`` does ``from collections import Iterable`` (gone since 3.10), and its
  ``setup.py`` imports the package, so ``pip install astm==0.5.0`` cannot even build it.
  ``python -m tests.peers.python_astm install`` builds it under a shim (:func:`install`).
- Its networking is ``astm.asynclib``, its own fork of asyncore (the stdlib module is never
  imported), whose docstrings hold an invalid escape: a DeprecationWarning each time it is
  compiled, an error under pytest's ``filterwarnings = error``.
- Its Client and Server block in a module-global socket map, so they run in a child process
  (``python -m tests.peers.python_astm send|loopback``, arguments as JSON on stdin): nothing of
  them leaks into pytest, and a hung peer is killed at the timeout.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import importlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeAlias

AstmField: TypeAlias = str | list["AstmField"] | None
"""A field as python-astm encodes it: text, empty, components, or repeats of components."""
AstmRecord: TypeAlias = Sequence[AstmField]

PIN = "astm==0.5.0"
REPO = Path(__file__).resolve().parents[2]
SENDER_TIMEOUT = 15.0
"""LIS1-A §8.5.1: python-astm's client gives up when a reply takes longer (its own timer)."""

_SHIM = """\
import collections, collections.abc
for _name in collections.abc.__all__:
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
"""


def load_python_astm() -> ModuleType:
    """Import the ``astm`` package, leaving ``collections``, warnings and logging as they were.

    The old ``collections`` names exist only while it imports (``astm.codec`` binds
    ``Iterable`` at import time); the root-logger handler ``astm/__init__.py`` adds is removed.

    Raises:
        ModuleNotFoundError: python-astm is not installed (``python -m
            tests.peers.python_astm install``).
    """
    if "astm" in sys.modules:
        return sys.modules["astm"]
    added = [name for name in collections.abc.__all__ if not hasattr(collections, name)]
    root = logging.getLogger()
    handlers = list(root.handlers)
    for name in added:
        setattr(collections, name, getattr(collections.abc, name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            return importlib.import_module("astm")
    finally:
        for name in added:
            delattr(collections, name)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)


def send_with_python_astm(
    host: str,
    port: int,
    messages: Sequence[Sequence[AstmRecord]],
    *,
    timeout: float = 60.0,
    encoding: str = "utf-8",
    chunk_size: int | None = None,
) -> None:
    """Send H…L messages to ``host:port`` with python-astm's own ``astm.client.Client``.

    It plays the instrument: ENQ, one frame per record (split into ETB frames of
    ``chunk_size`` bytes in all when given), the next record only after ACK, EOT after each L.
    Its default encoding is latin-1, which cannot carry Vietnamese: hence ``utf-8`` here.

    Raises:
        RuntimeError: a record was refused (NAK), the connection failed or python-astm's
            15 s reply timer expired; the message carries its stderr.
        TimeoutError: the whole exchange took longer than ``timeout``.
    """
    args = {
        "host": host,
        "port": port,
        "messages": messages,
        "encoding": encoding,
        "chunk_size": chunk_size,
        "reply_timeout": min(timeout, SENDER_TIMEOUT),
    }
    _run_child("send", args, timeout)


def python_astm_loopback(
    message: Sequence[AstmRecord], count: int, *, timeout: float = 120.0
) -> tuple[int, float]:
    """``count`` copies of ``message`` from python-astm's Client to its Server on localhost.

    Its server decodes each frame and answers; nothing is stored.

    Returns:
        Records the server decoded, and seconds from connecting to the last L record decoded.
    """
    out = _run_child("loopback", {"message": message, "count": count}, timeout)
    result = json.loads(out)
    return int(result["records"]), float(result["seconds"])


def install() -> None:
    """Build python-astm 0.5.0 into this interpreter's environment, which pip alone cannot.

    Its ``setup.py`` imports ``astm`` for the version, which needs the old ``collections``
    names: so no build isolation, and a ``sitecustomize`` on ``PYTHONPATH`` adding them. wheel
    first, as setuptools before 70.1 has no ``bdist_wheel`` of its own.
    """
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "setuptools", "wheel"], check=True)
    with tempfile.TemporaryDirectory(prefix="astm-shim-") as shim:
        Path(shim, "sitecustomize.py").write_text(_SHIM)
        path = os.pathsep.join(p for p in (shim, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        subprocess.run([*pip, "--no-build-isolation", PIN], check=True, env=env)


def _run_child(command: str, args: dict[str, Any], timeout: float) -> str:
    """Run ``command`` in a child interpreter; its stdout, or an exception with its stderr."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.peers.python_astm", command],
            input=json.dumps(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stderr or b""
        stderr = partial if isinstance(partial, str) else partial.decode(errors="replace")
        raise TimeoutError(f"python-astm {command} took over {timeout} s: {stderr}") from exc
    if done.returncode != 0:
        raise RuntimeError(f"python-astm {command} failed ({done.returncode}): {done.stderr}")
    return done.stdout


# Child side: python-astm's blocking loop, one process per call.

_Emitter: TypeAlias = Generator[AstmRecord, bool | None, None]


def _emitter(messages: Sequence[Sequence[AstmRecord]], done: list[bool]) -> Callable[[], _Emitter]:
    """python-astm's emitter protocol: yield a record, receive True (ACK) or False (NAK) for it.

    ``done`` gets an item once the last L was ACKed (python-astm reports it at the next ENQ).
    """

    def emit() -> _Emitter:
        for number, message in enumerate(messages, 1):
            for record in message:
                accepted = yield record
                if accepted is False:
                    raise RuntimeError(f"message {number}: {record[0]} record refused (NAK)")
        done.append(True)

    return emit


def _loop(astm: Any, finished: Callable[[], bool], deadline: float) -> None:
    while not finished() and time.monotonic() < deadline:
        astm.asynclib.loop(timeout=0.05, count=1)
    astm.asynclib.close_all(ignore_all=True)


def _send(args: dict[str, Any]) -> None:
    astm = load_python_astm()
    done: list[bool] = []
    client = astm.client.Client(
        _emitter(args["messages"], done),
        host=args["host"],
        port=args["port"],
        encoding=args["encoding"],
        timeout=args["reply_timeout"],
        flow_map=None,  # any record type, in the order given
        chunk_size=args["chunk_size"],
    )
    _loop(astm, lambda: client.socket.fileno() == -1, float("inf"))  # closed when done
    if not done:
        sys.exit("python-astm client stopped before every record was acknowledged")


class _CountingDispatcher:
    """Stands for python-astm's records dispatcher: decodes every frame, counts records."""

    def __init__(self, astm: Any) -> None:
        self._decode = astm.codec.decode_message
        self.records = 0
        self.last_terminator = 0.0

    def __call__(self, message: bytes) -> None:
        _seq, records, _checksum = self._decode(message, "utf-8")
        self.records += len(records)
        if records[-1][0] == "L":
            self.last_terminator = time.perf_counter()


def _loopback(args: dict[str, Any]) -> None:
    astm = load_python_astm()
    dispatcher = _CountingDispatcher(astm)
    server = astm.server.Server("127.0.0.1", 0, dispatcher=lambda _encoding: dispatcher)
    port = server.socket.getsockname()[1]
    done: list[bool] = []
    started = time.perf_counter()
    astm.client.Client(
        _emitter([args["message"]] * args["count"], done),
        host="127.0.0.1",
        port=port,
        encoding="utf-8",
        timeout=SENDER_TIMEOUT,
        flow_map=None,
    )
    _loop(astm, lambda: bool(done), time.monotonic() + 600)
    if not done:
        sys.exit("python-astm loopback did not finish")
    seconds = dispatcher.last_terminator - started
    print(json.dumps({"records": dispatcher.records, "seconds": seconds}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.peers.python_astm")
    parser.add_argument("command", choices=["send", "loopback", "install"])
    command = parser.parse_args(argv).command
    if command == "install":
        install()
        return
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
    {"send": _send, "loopback": _loopback}[command](json.load(sys.stdin))


if __name__ == "__main__":
    main()
