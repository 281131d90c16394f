"""Malformed device input kept for inspection, next to the store (it may hold patient data).

Answering a bad frame NAK/AE/AR is not enough for the engineer who must find out why an
analyzer sends it: the exact bytes are kept, one file each, newest ``keep`` per device.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("wardlink.rejects")

_SLUG = re.compile(r"[^a-z0-9]+")


class RejectArchive:
    def __init__(self, directory: Path, keep: int = 500) -> None:
        self.directory = directory
        self._keep = keep
        self._counter = 0

    def keep(self, device_id: str, reason: str, raw: bytes) -> Path | None:
        """Write the bytes; never raise (a full disk must not stop the device's session)."""
        folder = self.directory / device_id
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self._counter += 1
        slug = _SLUG.sub("-", reason.lower()).strip("-")[:40] or "rejected"
        path = folder / f"{stamp}-{self._counter:06d}-{slug}.bin"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_bytes(raw)
            for old in sorted(folder.iterdir())[: -self._keep]:
                old.unlink()
        except OSError as exc:
            log.warning("could not keep rejected input of %s: %s", device_id, exc)
            return None
        return path
