"""The test side of the power-cut filesystem: mount it, pull the plug, remount, unmount."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import PYTHON, _env, wait_for

FUSERMOUNT = "fusermount3"


def fuse_unavailable() -> str | None:
    """Why this machine cannot mount the filesystem (None when it can).

    Raises:
        RuntimeError: FUSE exists but libfuse 3 or mfusepy is missing: an install step failed.
    """
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse: run the container with --device /dev/fuse (and CAP_SYS_ADMIN)"
    if shutil.which(FUSERMOUNT) is None:
        msg = f"{FUSERMOUNT} is missing: `make pytest` installs Debian's fuse3 package"
        raise RuntimeError(msg)
    probe = subprocess.run(
        [PYTHON, "-c", "import mfusepy"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        msg = f"mfusepy cannot load libfuse 3 (pip install -e '.[test]'):\n{probe.stderr}"
        raise RuntimeError(msg)
    return None


@dataclass(frozen=True)
class CutReport:
    """What one power cut threw away, and what the remount found."""

    unsynced_bytes: int
    """Bytes written since their file's last fsync, dropped."""
    unsynced_names: int
    """Files whose names never became durable, gone."""
    fsyncs: int
    """File fsyncs the filesystem served before this cut, since the previous mount."""
    recovered_files: int
    recovered_bytes: int


class PowerCutFS:
    """A mounted power-cut filesystem; ``cut()`` pulls the plug and boots again.

    The server is a child process; state that must outlive it (the durable images) lives in
    ``workdir/backing``, so a cut is just: freeze, kill the writer, unmount, start a new server.
    """

    def __init__(self, workdir: Path, capacity: int | None = None) -> None:
        self.capacity = capacity
        """Bytes the mount holds before writes fail with ``ENOSPC`` (None: the backing disk's)."""
        self.backing = workdir / "backing"
        self.mountpoint = workdir / "mnt"
        self.log = workdir / "powercut-server.log"
        self.control = self.backing / "control.sock"
        self.cuts: list[CutReport] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._frozen: dict[str, Any] | None = None

    def mount(self) -> PowerCutFS:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.control.unlink(missing_ok=True)
        args = [PYTHON, "-m", "tests.reliability.powercut.server"]
        if self.capacity is not None:
            args += ["--capacity", str(self.capacity)]
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [*args, str(self.backing), str(self.mountpoint)], stderr=log, env=_env()
            )
        wait_for(self._ready, 20, "the power-cut filesystem to mount")
        return self

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            msg = f"the FUSE server exited ({self._proc.returncode}): {self._log_tail()}"
            raise RuntimeError(msg)
        try:
            self._ask("stats")
        except OSError:
            return False
        return self.mounted()

    def mounted(self) -> bool:
        """Read from the mount table: ``os.path.ismount`` would stat the frozen mount (EIO)."""
        with open("/proc/self/mounts", encoding="utf-8") as table:
            return any(line.split()[1] == str(self.mountpoint) for line in table)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def _ask(self, command: str) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.control))
            sock.sendall(command.encode() + b"\n")
            with sock.makefile("r") as answer:
                reply: dict[str, Any] = json.loads(answer.readline())
        return reply

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def power_off(self, kill: Callable[[], None] | None = None) -> None:
        """Freeze the disk, then ``kill`` the writers; :meth:`boot` brings the machine back.

        The freeze comes first so that nothing a writer does between "now" and its death (a
        commit whose fsync lands a millisecond later) can count as durable.
        """
        self._frozen = self._ask("freeze")
        if kill is not None:
            kill()

    def boot(self) -> CutReport:
        """Unmount the frozen filesystem and mount what its durable images hold."""
        frozen = self._frozen
        assert frozen is not None, "boot() follows power_off()"
        self.unmount()
        self.mount()
        recovered = self.stats()["recovered"]
        report = CutReport(
            unsynced_bytes=frozen["unsynced_bytes"],
            unsynced_names=frozen["unsynced_names"],
            fsyncs=frozen["fsyncs"],
            recovered_files=recovered["files"],
            recovered_bytes=recovered["bytes"],
        )
        self.cuts.append(report)
        self._frozen = None
        return report

    def cut(self, kill: Callable[[], None] | None = None) -> CutReport:
        """Pull the plug and boot again: :meth:`power_off` then :meth:`boot`."""
        self.power_off(kill)
        return self.boot()

    def unmount(self) -> None:
        if self._proc is None:
            return
        if self.mounted():
            done = subprocess.run(
                [FUSERMOUNT, "-u", str(self.mountpoint)], capture_output=True, check=False
            )
            if done.returncode != 0:  # still busy: detach now, the kernel finishes later
                subprocess.run([FUSERMOUNT, "-u", "-z", str(self.mountpoint)], check=True)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> PowerCutFS:
        return self.mount()

    def __exit__(self, *_: object) -> None:
        self.unmount()
