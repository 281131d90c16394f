"""The power-cut FUSE server: a passthrough that keeps a durable image of what was fsynced.

Run by :class:`~tests.reliability.powercut.mount.PowerCutFS` as its own process, so libfuse's
threads and blocking loop never share the test's event loop::

    python -m tests.reliability.powercut.server BACKING MOUNTPOINT [--capacity BYTES]

``BACKING`` holds ``live/`` (the files as the mount shows them), ``durable/<node>`` (each
file's synced bytes), ``state.json`` (the durable directory tree) and ``control.sock``. On
start the server first rebuilds ``live/`` from the durable images, which is what booting after
a power cut finds, then mounts. The control socket takes one line per connection and answers
one JSON line: ``stats``, or ``freeze`` (from then on every operation fails with ``EIO``).

The file model is :mod:`.model`, the FUSE operations :mod:`.operations`, the control socket
:mod:`.control`, the optional disk size (``ENOSPC`` past it) :mod:`.capacity`; this module only
boots and mounts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mfusepy  # type: ignore[import-untyped]

from tests.reliability.powercut.capacity import CappedOps
from tests.reliability.powercut.operations import PowerCutOps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backing", type=Path)
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--capacity", type=int, help="bytes the files may hold (ENOSPC past it)")
    args = parser.parse_args(argv)
    ops = (
        PowerCutOps(args.backing)
        if args.capacity is None
        else CappedOps(args.backing, args.capacity)
    )
    ops.model.recover()
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
