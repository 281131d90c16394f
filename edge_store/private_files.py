"""The store's files are for the gateway's user only, whatever the process umask.

The outbox holds patient data. SQLite creates its database with ``0644 & ~umask`` and gives the
``-wal`` and ``-shm`` files the database file's mode, so creating the database file ourselves
with ``0600`` makes all three private; a store created by an older version is tightened.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Create ``path``'s directory (0700) and file (0600) if missing; tighten existing files."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError, IsADirectoryError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in _COMPANIONS:
        file = path.with_name(path.name + suffix)
        # Not ours (an inspection tool run as another user) or gone: leave it to SQLite.
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mode = stat.S_IMODE(file.lstat().st_mode)
            if stat.S_ISREG(file.lstat().st_mode) and mode & _OTHERS:
                os.chmod(file, mode & ~_OTHERS)
