"""Exceptions raised by the outbox, each telling the operator what happened and what to do.

The gateway maps these to alerts and exit codes, so messages name the file and the fix rather
than echoing SQLite's terse errors. No message ever contains payload bytes (patient data).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class StoreError(Exception):
    """Base class for every failure of the durable outbox."""


class StoreCorruptError(StoreError):
    """The file is not a SQLite database or fails SQLite's consistency check."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(
            f"outbox file {path} is damaged or not a database ({detail}). Stop the gateway, "
            f"move the file aside (keep it for analysis, it may hold undelivered data) and "
            f"start again: the gateway creates a fresh outbox."
        )


class ForeignDatabaseError(StoreError):
    """The file is a SQLite database that some other program owns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path} is a SQLite database but not a WardLink outbox (no 'wardlink-outbox' "
            f"marker). Refusing to touch it: point the outbox path at a new file or an "
            f"existing outbox."
        )


class StoreInUseError(StoreError):
    """Another process holds the database lock for longer than the busy timeout."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"outbox file {path} is locked by another process; is a second gateway running "
            f"with the same data directory?"
        )


class StoreFullError(StoreError):
    """Accepting more data would pass the quota or leave the disk without headroom.

    Raised before anything is written, so the caller can refuse upstream (e.g. withhold the
    device-level ACK) and nothing already stored is affected.
    """

    def __init__(self, used_bytes: int, quota_bytes: int | None, reason: str) -> None:
        self.used_bytes = used_bytes
        self.quota_bytes = quota_bytes
        self.reason = reason
        quota = "no quota" if quota_bytes is None else f"quota {quota_bytes} bytes"
        super().__init__(
            f"outbox full: {reason} (stored {used_bytes} bytes, {quota}). Undelivered rows "
            f"are kept; space returns once rows are delivered, or raise the quota / free disk."
        )


class DiskRefusedError(StoreError):
    """The filesystem refused a write (``ENOSPC``: SQLite's ``SQLITE_FULL``); nothing was stored.

    The transaction was rolled back. An append reports it as :class:`StoreFullError`; other
    writes (marking rows sent or acknowledged) raise this, to be retried once space returns.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"the disk holding {path} is full: a write was refused and rolled back. Free disk "
            f"space; nothing stored is lost."
        )


class DuplicateEntryError(StoreError):
    """Envelope ids that are already stored (or repeated within one batch)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        shown = ", ".join(self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(f"{len(self.ids)} envelope id(s) already in the outbox: {shown}")
