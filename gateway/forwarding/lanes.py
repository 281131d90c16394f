"""Reading the outbox lane by lane for the forwarder: alarms first, no row handed out twice.

The reader keeps a cursor and a small prefetch buffer per lane, so the store is asked for rows
in batches rather than per publish, and rows the gateway has just committed are taken as they
are when nothing older is waiting in the store (a ward's steady trickle is never read back).
A row stays *held* from the moment it is read until the forwarder releases it (confirmed and
marked sent, or refused), so re-reading a lane from the start (after a reconnect or a retry
period) never hands out a row already on its way.
"""

from __future__ import annotations

from collections import deque

from edge_store import AsyncOutbox, StoredEntry
from gateway.forwarding.topics import Lane


class LaneReader:
    def __init__(self, outbox: AsyncOutbox, prefetch: int = 500) -> None:
        self._outbox = outbox
        self._prefetch = prefetch
        self._dirty = dict.fromkeys(Lane, True)
        self._reading = dict.fromkeys(Lane, False)
        self._cursor = dict.fromkeys(Lane, 0)
        self._buffers: dict[Lane, deque[StoredEntry]] = {lane: deque() for lane in Lane}
        self._held: set[int] = set()

    def offer(self, rows: list[StoredEntry]) -> None:
        """Rows just committed, in rowid order: buffered as they are, when their lane allows.

        A lane with nothing older unread takes them without asking the store for what the
        gateway itself just wrote. Otherwise (older rows unread, a read in flight, or the
        buffer full while the broker is away) the lane is only marked, and read in order.
        """
        for row in rows:
            lane = Lane(row.lane)
            buffer = self._buffers[lane]
            if self._dirty[lane] or self._reading[lane] or len(buffer) >= self._prefetch:
                self._dirty[lane] = True
            elif row.rowid > self._cursor[lane]:
                self._cursor[lane] = row.rowid
                self._held.add(row.rowid)
                buffer.append(row)

    @property
    def may_have_rows(self) -> bool:
        return any(self._dirty.values()) or any(self._buffers.values())

    async def take(self, limit: int) -> list[StoredEntry]:
        """Up to ``limit`` rows, every pending alarm before any normal row."""
        taken: list[StoredEntry] = []
        for lane in Lane:
            buffer = self._buffers[lane]
            if not buffer and self._dirty[lane]:
                await self._refill(lane)
            while buffer and len(taken) < limit:
                taken.append(buffer.popleft())
            if lane is Lane.ALARM and self._dirty[Lane.ALARM] and taken:
                return taken  # another alarm was committed while we read: serve alarms first
        return taken

    async def _refill(self, lane: Lane) -> None:
        self._dirty[lane] = False
        self._reading[lane] = True
        try:
            rows = await self._outbox.claim(
                int(lane), after_rowid=self._cursor[lane], limit=self._prefetch
            )
        finally:
            self._reading[lane] = False
        if len(rows) == self._prefetch:
            self._dirty[lane] = True  # more may follow
        for row in rows:
            self._cursor[lane] = max(self._cursor[lane], row.rowid)
            if row.rowid not in self._held:
                self._held.add(row.rowid)
                self._buffers[lane].append(row)

    def release(self, rowids: list[int]) -> None:
        """These rows left the forwarder's hands (marked sent, or refused to retry later)."""
        self._held.difference_update(rowids)

    def rewind(self) -> None:
        """Read every lane from the start again, skipping rows still held."""
        for lane in Lane:
            self._cursor[lane] = 0
            self._dirty[lane] = True

    def reset(self) -> None:
        """A new connection: nothing is held any more; read everything pending again."""
        self._held.clear()
        for buffer in self._buffers.values():
            buffer.clear()
        self.rewind()
