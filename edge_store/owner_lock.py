"""One gateway per store: an advisory lock held for the life of the owning process.

SQLite's own locks only serialise transactions; two gateways on one file would both forward
and both assign sequence numbers. ``flock`` is released by the kernel when the process dies,
so a kill -9 never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from edge_store.errors import StoreInUseError


def acquire_owner_lock(store_path: Path) -> int:
    """Lock ``<store>.lock`` exclusively; return the descriptor to keep open."""
    fd = os.open(store_path.with_name(store_path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUseError(store_path) from None
    return fd


def release_owner_lock(fd: int) -> None:
    os.close(fd)
