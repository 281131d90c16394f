"""The power-cut FUSE server: a passthrough that keeps a durable image of what was fsynced.

Run by :class:`~tests.reliability.powercut.mount.PowerCutFS` as its own process, so libfuse's
threads and blocking loop never share the test's event loop::

    python -m tests.reliability.powercut.server BACKING MOUNTPOINT

``BACKING`` holds ``live/`` (the files as the mount shows them), ``durable/<node>`` (each
file's synced bytes), ``state.json`` (the durable directory tree) and ``control.sock``. On
start the server first rebuilds ``live/`` from the durable images, which is what booting after
a power cut finds, then mounts. The control socket takes one line per connection and answers
one JSON line: ``stats``, or ``freeze`` (from then on every operation fails with ``EIO``).

Nodes, not paths, carry identity, so a file renamed or unlinked while open keeps its durable
image and its pending extents; directory listings map names to nodes, live and durable apart.
"""

from __future__ import annotations

import argparse
import errno
import functools
import json
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import mfusepy  # type: ignore[import-untyped]

ROOT = 1
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Node:
    is_dir: bool
    dirty: list[tuple[int, int]] = field(default_factory=list)
    """Byte ranges written since the last sync (merged at sync time)."""


@dataclass
class Counters:
    writes: int = 0
    written_bytes: int = 0
    fsyncs: int = 0
    fsyncdirs: int = 0
    synced_bytes: int = 0


def merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def operation(
    method: Callable[Concatenate[PowerCutOps, P], R],
) -> Callable[Concatenate[PowerCutOps, P], R]:
    """Serialise an operation against the control thread and fail it once frozen."""

    def guarded(self: PowerCutOps, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.mutex:
            if self.frozen:
                raise mfusepy.FuseOSError(errno.EIO)
            return method(self, *args, **kwargs)

    # mfusepy reads the signature (create with or without flags): keep the method's own.
    functools.update_wrapper(guarded, method)
    return guarded


class PowerCutOps:
    """The mfusepy operations (duck-typed: mfusepy looks methods up by name)."""

    use_ns = True

    def __init__(self, backing: Path) -> None:
        self.backing = backing
        self.live_root = backing / "live"
        self.durable_dir = backing / "durable"
        self.state_path = backing / "state.json"
        self.control_path = backing / "control.sock"
        self.mutex = threading.RLock()
        self.frozen = False
        self.counters = Counters()
        self.nodes: dict[int, Node] = {}
        self.live: dict[int, dict[str, int]] = {}
        self.durable: dict[int, dict[str, int]] = {}
        self.next_id = ROOT + 1
        self.handles: dict[int, int] = {}
        """Open backing descriptor → node."""
        self.recovered: dict[str, int] = {}

    # -- boot: rebuild the live tree from the durable one ---------------------------------

    def recover(self) -> None:
        """Make ``live/`` exactly the durable image: what the machine finds after the cut."""
        self.durable_dir.mkdir(parents=True, exist_ok=True)
        kinds: dict[int, bool] = {ROOT: True}
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            self.next_id = state["next_id"]
            kinds = {int(k): v == "d" for k, v in state["kinds"].items()}
            self.durable = {
                int(k): {name: int(n) for name, n in v.items()} for k, v in state["tree"].items()
            }
        self.durable.setdefault(ROOT, {})
        if self.live_root.exists():
            shutil.rmtree(self.live_root)
        self.live_root.mkdir()
        self.nodes = {ROOT: Node(is_dir=True)}
        self._rebuild(ROOT, self.live_root, kinds, frozenset({ROOT}))
        reachable = set(self.nodes)
        for image in self.durable_dir.iterdir():
            if int(image.name) not in reachable:
                image.unlink()
        self.durable = {d: entries for d, entries in self.durable.items() if d in reachable}
        self.live = {d: dict(entries) for d, entries in self.durable.items()}
        files = [n for n, node in self.nodes.items() if not node.is_dir]
        self.recovered = {
            "files": len(files),
            "bytes": sum(self._image(n).stat().st_size for n in files if self._image(n).exists()),
        }
        self._save()

    def _rebuild(
        self, dir_id: int, where: Path, kinds: dict[int, bool], up: frozenset[int]
    ) -> None:
        entries = self.durable.get(dir_id, {})
        for name, linked in sorted(entries.items()):
            node_id = linked
            if node_id in up:  # a cycle left by unsynced renames of directories
                del entries[name]
                continue
            target = where / name
            if node_id in self.nodes:  # reached twice (unsynced renames): two copies now
                fresh = self._new_id()
                kinds[fresh] = kinds.get(node_id, False)
                if node_id in self.durable:
                    self.durable[fresh] = dict(self.durable[node_id])
                if self._image(node_id).exists():
                    shutil.copyfile(self._image(node_id), self._image(fresh))
                entries[name] = node_id = fresh
            if kinds.get(node_id, False):
                target.mkdir()
                self.nodes[node_id] = Node(is_dir=True)
                self.durable.setdefault(node_id, {})
                self._rebuild(node_id, target, kinds, up | {node_id})
            else:
                image = self._image(node_id)
                if image.exists():
                    shutil.copyfile(image, target)
                else:
                    target.touch()
                self.nodes[node_id] = Node(is_dir=False)

    def _save(self) -> None:
        kinds = {str(n): "d" if node.is_dir else "f" for n, node in self.nodes.items()}
        state = {
            "next_id": self.next_id,
            "kinds": kinds,
            "tree": {str(d): entries for d, entries in self.durable.items()},
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    # -- bookkeeping ---------------------------------------------------------------------

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _image(self, node_id: int) -> Path:
        return self.durable_dir / str(node_id)

    def _real(self, path: str) -> str:
        return str(self.live_root) + path

    def _split(self, path: str) -> tuple[int, str]:
        parent, _, name = path.rpartition("/")
        return self._resolve(parent or "/"), name

    def _resolve(self, path: str) -> int:
        node = ROOT
        for part in path.strip("/").split("/"):
            if part:
                try:
                    node = self.live[node][part]
                except KeyError:
                    raise mfusepy.FuseOSError(errno.ENOENT) from None
        return node

    def _durably_reachable(self) -> set[int]:
        seen = {ROOT}
        stack = [ROOT]
        while stack:
            for child in self.durable.get(stack.pop(), {}).values():
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def _link_durably(self, path: str) -> None:
        """A new file's fsync makes its name, and new parents' names, durable (ext4 does)."""
        reachable = self._durably_reachable()
        node = ROOT
        changed = False
        for part in path.strip("/").split("/"):
            child = self.live[node][part]
            if child not in reachable:
                self.durable.setdefault(node, {})[part] = child
                changed = True
            node = child
        if changed:
            self._save()

    def _sync_data(self, node_id: int, fd: int) -> None:
        node = self.nodes[node_id]
        size = os.fstat(fd).st_size
        image = os.open(self._image(node_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            for start, end in merged(node.dirty):
                if start >= size:
                    continue
                data = os.pread(fd, min(end, size) - start, start)
                os.pwrite(image, data, start)
                self.counters.synced_bytes += len(data)
            os.ftruncate(image, size)
        finally:
            os.close(image)
        node.dirty.clear()

    # -- control channel -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self.mutex:
            reachable = self._durably_reachable()
            live_files = {
                child
                for entries in self.live.values()
                for child in entries.values()
                if not self.nodes[child].is_dir
            }
            return {
                **self.counters.__dict__,
                "frozen": self.frozen,
                "unsynced_bytes": sum(
                    e - s for n in self.nodes.values() for s, e in merged(n.dirty)
                ),
                "unsynced_names": len(live_files - reachable),
                "recovered": self.recovered,
            }

    def freeze(self) -> dict[str, Any]:
        with self.mutex:
            self.frozen = True
            return self.stats()

    def serve_control(self) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control_path.unlink(missing_ok=True)
        server.bind(str(self.control_path))
        server.listen()
        threading.Thread(target=self._control_loop, args=(server,), daemon=True).start()

    def _control_loop(self, server: socket.socket) -> None:
        commands = {"stats": self.stats, "freeze": self.freeze}
        while True:
            conn, _ = server.accept()
            with conn, conn.makefile("rw") as channel:
                command = channel.readline().strip()
                answer = commands[command]() if command in commands else {"error": command}
                channel.write(json.dumps(answer) + "\n")

    # -- FUSE operations -----------------------------------------------------------------

    def init(self, _path: str) -> None:
        # Answering on the socket is the mount's "ready" signal, so start it only now.
        self.serve_control()

    @operation
    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._real(path))
        keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid", "st_blocks")
        attrs = {key: getattr(st, key) for key in keys}
        attrs.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return attrs

    @operation
    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    @operation
    def readdir(self, path: str, _fh: int) -> list[str]:
        return [".", "..", *self.live[self._resolve(path)]]

    @operation
    def statfs(self, _path: str) -> dict[str, int]:
        st = os.statvfs(self.live_root)
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        return {key: getattr(st, key) for key in (*keys, "f_favail", "f_namemax")}

    @operation
    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        return 0

    @operation
    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._real(path), uid, gid)
        return 0

    @operation
    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            os.utime(self._real(path))
        else:
            os.utime(self._real(path), ns=times)
        return 0

    @operation
    def open(self, path: str, flags: int) -> int:
        node_id = self._resolve(path)
        fd = os.open(self._real(path), _backing_flags(flags))
        self.handles[fd] = node_id
        return fd

    @operation
    def create(self, path: str, mode: int, flags: int) -> int:
        parent, name = self._split(path)
        fd = os.open(self._real(path), _backing_flags(flags) | os.O_CREAT, mode)
        node_id = self.live[parent].get(name)
        if node_id is None:
            node_id = self._new_id()
            self.nodes[node_id] = Node(is_dir=False)
            self.live[parent][name] = node_id
        self.handles[fd] = node_id
        return fd

    @operation
    def read(self, _path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    @operation
    def write(self, _path: str, data: bytes, offset: int, fh: int) -> int:
        written = os.pwrite(fh, data, offset)
        self.nodes[self.handles[fh]].dirty.append((offset, offset + written))
        self.counters.writes += 1
        self.counters.written_bytes += written
        return written

    @operation
    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if fh is None:
            os.truncate(self._real(path), length)
        else:
            os.ftruncate(fh, length)
        return 0

    @operation
    def flush(self, _path: str, _fh: int) -> int:
        return 0

    def release(self, _path: str, fh: int) -> int:
        # Not guarded: the kernel releases a dead writer's files after the freeze too.
        with self.mutex:
            self.handles.pop(fh, None)
            os.close(fh)
        return 0

    @operation
    def fsync(self, path: str | None, _datasync: int, fh: int) -> int:
        self.counters.fsyncs += 1
        self._sync_data(self.handles[fh], fh)
        if path and self._resolve_or_none(path) == self.handles[fh]:
            self._link_durably(path)
        return 0

    @operation
    def fsyncdir(self, path: str, _datasync: int, _fh: int) -> int:
        self.counters.fsyncdirs += 1
        dir_id = self._resolve(path)
        self.durable[dir_id] = dict(self.live[dir_id])
        if path != "/":
            self._link_durably(path)
        self._save()
        return 0

    @operation
    def mkdir(self, path: str, mode: int) -> int:
        parent, name = self._split(path)
        os.mkdir(self._real(path), mode)
        node_id = self._new_id()
        self.nodes[node_id] = Node(is_dir=True)
        self.live[node_id] = {}
        self.live[parent][name] = node_id
        return 0

    @operation
    def rmdir(self, path: str) -> int:
        parent, name = self._split(path)
        os.rmdir(self._real(path))
        del self.live[self.live[parent].pop(name)]
        return 0

    @operation
    def unlink(self, path: str) -> int:
        parent, name = self._split(path)
        os.unlink(self._real(path))
        del self.live[parent][name]
        return 0

    @operation
    def rename(self, old: str, new: str) -> int:
        old_parent, old_name = self._split(old)
        new_parent, new_name = self._split(new)
        os.rename(self._real(old), self._real(new))
        replaced = self.live[new_parent].get(new_name)
        if replaced is not None and self.nodes[replaced].is_dir:
            del self.live[replaced]
        self.live[new_parent][new_name] = self.live[old_parent].pop(old_name)
        return 0

    def _resolve_or_none(self, path: str) -> int | None:
        try:
            return self._resolve(path)
        except OSError:
            return None


def _backing_flags(flags: int) -> int:
    """Open the backing file read-write (fsync reads extents back) and honour offsets."""
    flags &= ~(os.O_APPEND | os.O_CREAT | os.O_EXCL)
    if flags & os.O_ACCMODE == os.O_WRONLY:
        flags = (flags & ~os.O_ACCMODE) | os.O_RDWR
    return flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backing", type=Path)
    parser.add_argument("mountpoint", type=Path)
    args = parser.parse_args(argv)
    ops = PowerCutOps(args.backing)
    ops.recover()
    # Single-threaded loop (nothreads): operations are serialised anyway. hard_remove: unlink
    # an open file for real, as SQLite does with its -shm, instead of renaming it to .fuse_hidden.
    mfusepy.FUSE(
        ops,
        str(args.mountpoint),
        foreground=True,
        nothreads=True,
        hard_remove=True,
        fsname="powercut",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
