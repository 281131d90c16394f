"""A filesystem that forgets everything not fsynced when the plug is pulled.

Why FUSE: the gateway's store must run unchanged, through the stdlib ``sqlite3`` module and its
own unix VFS, so the only honest place to simulate a power cut is under the syscalls. A FUSE
passthrough (``mfusepy`` over libfuse 3 via ctypes, :mod:`tests.reliability.powercut.server`)
sees every ``write``, ``fsync`` and directory ``fsync`` SQLite issues; an SQLite VFS (apsw, the
fallback issue 7 allows) would need a hook in ``edge_store`` and would only test SQLite's calls
as that VFS re-implements them. FUSE mounts in this container (root, ``/dev/fuse``), so the
fallback is not used.

The model (what a power cut keeps):

- Each file has a *live* image (what reads see) and a *durable* image. ``fsync`` or
  ``fdatasync`` of a file copies the extents written since its last sync, and its size, to the
  durable image. ``close`` (FUSE ``flush``/``release``) makes nothing durable: on ext4 or XFS
  a closed file's dirty pages are still lost by a power cut, and SQLite relies on fsync only.
- Names are durable per directory: ``fsync`` of a directory makes its whole live listing
  (creations, unlinks, renames in and out) its durable listing. ``fsync`` of a file whose name
  was never durable also makes that name (and any new parent directories) durable, as ext4
  does for a new inode; SQLite fsyncs the directory only after the first sync of a journal or
  WAL it created (``UNIXFILE_DIRSYNC``), never for the main database file.
- :meth:`PowerCutFS.cut` freezes the filesystem (every later operation fails with ``EIO``:
  the disk lost power first), lets the caller SIGKILL the writer, unmounts, and remounts from
  the durable images: files whose names were never durable are gone, the others hold exactly
  their synced bytes (a file whose name is durable but whose data never synced is empty).

This is the harshest model that a real disk with a volatile cache is allowed to show: nothing
unsynced survives, so a store that is correct here does not depend on lucky write-back.
"""

from tests.reliability.powercut.mount import CutReport, PowerCutFS, fuse_unavailable

__all__ = ["CutReport", "PowerCutFS", "fuse_unavailable"]
