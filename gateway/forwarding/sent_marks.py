"""Sent marks: rows the broker confirmed, marked ``sent`` in the store together, not one by one.

Sent marks are bookkeeping: losing the newest to a crash only re-sends those envelopes
(consumers dedupe by id). A ward's PUBACKs trickle in one by one, and each mark costs a commit
(an fsync on the node's SD card), so they share one.
"""

from __future__ import annotations

import asyncio
import contextlib

from edge_store import AsyncOutbox
from gateway.forwarding.lanes import LaneReader

SENT_MARKS_LINGER_S = 0.25
"""How long confirmed rows wait to be marked sent together (a draining backlog waits less)."""
SENT_MARKS_BATCH = 500
"""Confirmed rows that are marked at once without waiting out the linger."""


class SentMarks:
    """Confirmed rows awaiting their shared ``mark_sent`` commit, then released from the lanes."""

    def __init__(self, outbox: AsyncOutbox, lanes: LaneReader) -> None:
        self._outbox = outbox
        self._lanes = lanes
        self._confirmed: list[int] = []
        self._flush_wanted = asyncio.Event()
        self._marks_full = asyncio.Event()

    def confirm(self, rowid: int) -> None:
        """The broker confirmed this row (called from the PUBACK callback)."""
        self._confirmed.append(rowid)
        self._flush_wanted.set()
        if len(self._confirmed) >= SENT_MARKS_BATCH:
            self._marks_full.set()

    async def run(self) -> None:
        """Mark confirmed rows as they come, lingering briefly so a burst shares one commit."""
        while True:
            await self._flush_wanted.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SENT_MARKS_LINGER_S):
                    await self._marks_full.wait()
            await self.flush()

    async def flush(self) -> None:
        """Mark every confirmed row now (also when a session ends)."""
        self._flush_wanted.clear()
        self._marks_full.clear()
        batch, self._confirmed = self._confirmed, []
        if batch:
            await self._outbox.mark_sent(batch)
            self._lanes.release(batch)
