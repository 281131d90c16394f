"""The power-cut FUSE operations: a passthrough to ``live/`` that records writes in the model.

mfusepy looks the operations up by name on :class:`PowerCutOps`. Each one runs under one lock
shared with the control channel and fails with ``EIO`` once the disk is frozen; writes note
their extents, ``fsync`` and ``fsyncdir`` make them (and names) durable in the
:class:`~.model.FileModel`.
"""

from __future__ import annotations

import errno
import functools
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import mfusepy  # type: ignore[import-untyped]

from tests.reliability.powercut.control import serve_control
from tests.reliability.powercut.model import FileModel, Node

P = ParamSpec("P")
R = TypeVar("R")


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
        self.model = FileModel(backing)
        self.control_path = backing / "control.sock"
        self.mutex = threading.RLock()
        self.frozen = False
        self.handles: dict[int, int] = {}
        """Open backing descriptor → node."""

    # -- control channel -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self.mutex:
            return {
                **self.model.counters.__dict__,
                "frozen": self.frozen,
                **self.model.unsynced(),
                "recovered": self.model.recovered,
            }

    def freeze(self) -> dict[str, Any]:
        with self.mutex:
            self.frozen = True
            return self.stats()

    # -- FUSE operations -----------------------------------------------------------------

    def init(self, _path: str) -> None:
        # Answering on the socket is the mount's "ready" signal, so start it only now.
        serve_control(self.control_path, {"stats": self.stats, "freeze": self.freeze})

    @operation
    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        st = os.fstat(fh) if fh is not None else os.lstat(self.model.real(path))
        keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid", "st_blocks")
        attrs = {key: getattr(st, key) for key in keys}
        attrs.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return attrs

    @operation
    def access(self, path: str, amode: int) -> int:
        if not os.access(self.model.real(path), amode):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    @operation
    def readdir(self, path: str, _fh: int) -> list[str]:
        return [".", "..", *self.model.live[self.model.resolve(path)]]

    @operation
    def statfs(self, _path: str) -> dict[str, int]:
        st = os.statvfs(self.model.live_root)
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        return {key: getattr(st, key) for key in (*keys, "f_favail", "f_namemax")}

    @operation
    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self.model.real(path), mode)
        return 0

    @operation
    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self.model.real(path), uid, gid)
        return 0

    @operation
    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            os.utime(self.model.real(path))
        else:
            os.utime(self.model.real(path), ns=times)
        return 0

    @operation
    def open(self, path: str, flags: int) -> int:
        node_id = self.model.resolve(path)
        fd = os.open(self.model.real(path), _backing_flags(flags))
        self.handles[fd] = node_id
        return fd

    @operation
    def create(self, path: str, mode: int, flags: int) -> int:
        model = self.model
        parent, name = model.split(path)
        fd = os.open(model.real(path), _backing_flags(flags) | os.O_CREAT, mode)
        node_id = model.live[parent].get(name)
        if node_id is None:
            node_id = model.new_id()
            model.nodes[node_id] = Node(is_dir=False)
            model.live[parent][name] = node_id
        self.handles[fd] = node_id
        return fd

    @operation
    def read(self, _path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    @operation
    def write(self, _path: str, data: bytes, offset: int, fh: int) -> int:
        written = os.pwrite(fh, data, offset)
        self.model.nodes[self.handles[fh]].dirty.append((offset, offset + written))
        self.model.counters.writes += 1
        self.model.counters.written_bytes += written
        return written

    @operation
    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if fh is None:
            os.truncate(self.model.real(path), length)
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
        self.model.counters.fsyncs += 1
        self.model.sync_data(self.handles[fh], fh)
        if path and self.model.resolve_or_none(path) == self.handles[fh]:
            self.model.link_durably(path)
        return 0

    @operation
    def fsyncdir(self, path: str, _datasync: int, _fh: int) -> int:
        model = self.model
        model.counters.fsyncdirs += 1
        dir_id = model.resolve(path)
        model.durable[dir_id] = dict(model.live[dir_id])
        if path != "/":
            model.link_durably(path)
        model.save()
        return 0

    @operation
    def mkdir(self, path: str, mode: int) -> int:
        model = self.model
        parent, name = model.split(path)
        os.mkdir(model.real(path), mode)
        node_id = model.new_id()
        model.nodes[node_id] = Node(is_dir=True)
        model.live[node_id] = {}
        model.live[parent][name] = node_id
        return 0

    @operation
    def rmdir(self, path: str) -> int:
        parent, name = self.model.split(path)
        os.rmdir(self.model.real(path))
        del self.model.live[self.model.live[parent].pop(name)]
        return 0

    @operation
    def unlink(self, path: str) -> int:
        parent, name = self.model.split(path)
        os.unlink(self.model.real(path))
        del self.model.live[parent][name]
        return 0

    @operation
    def rename(self, old: str, new: str) -> int:
        model = self.model
        old_parent, old_name = model.split(old)
        new_parent, new_name = model.split(new)
        os.rename(model.real(old), model.real(new))
        replaced = model.live[new_parent].get(new_name)
        if replaced is not None and model.nodes[replaced].is_dir:
            del model.live[replaced]
        model.live[new_parent][new_name] = model.live[old_parent].pop(old_name)
        return 0


def _backing_flags(flags: int) -> int:
    """Open the backing file read-write (fsync reads extents back) and honour offsets."""
    flags &= ~(os.O_APPEND | os.O_CREAT | os.O_EXCL)
    if flags & os.O_ACCMODE == os.O_WRONLY:
        flags = (flags & ~os.O_ACCMODE) | os.O_RDWR
    return flags
