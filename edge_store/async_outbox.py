"""Asyncio face of the outbox: one worker thread, and group commit for appends.

Every store call runs on a single dedicated thread, so the event loop never waits on fsync and
SQLite sees exactly one writer. Appends queue up while the worker is busy and the next commit
takes all of them (up to ``max_batch``): under load many producers share one fsync, while an
idle producer's append is committed at once, with no timer or polling involved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypedDict, TypeVar, Unpack

from edge_store.durability import Durability
from edge_store.errors import DuplicateEntryError, StoreError
from edge_store.outbox import Outbox
from edge_store.records import MessageKey, NewEntry, OutboxStats, State, StoredEntry

log = logging.getLogger("edge_store")

_T = TypeVar("_T")

CommitObserver = Callable[[int, float], None]
"""Called on the event loop after each group commit with (rows, seconds spent in the store)."""

StoredObserver = Callable[[list[StoredEntry]], None]
"""Called on the event loop with each commit's new rows in rowid order, before any appender
resumes: the sender can take them as they are, without reading them back."""


class OutboxOptions(TypedDict, total=False):
    """Keyword arguments of ``Outbox`` accepted by ``AsyncOutbox.open``."""

    durability: Durability
    quota_bytes: int | None
    min_free_bytes: int
    retention_s: float
    end_to_end: bool
    clock: Callable[[], float]
    busy_timeout_s: float


@dataclass(slots=True)
class _Request:
    key: MessageKey | None
    entries: Sequence[NewEntry]
    future: asyncio.Future[list[StoredEntry] | None]


class AsyncOutbox:
    """Wraps an ``Outbox``; owns it from now on and closes it in ``close``.

    Args:
        outbox: An open store, used only from this wrapper's worker thread hereafter.
        max_batch: Most rows per commit; one ``append_many`` call is never split.
        on_commit: Optional observer of commit size and latency, e.g. a histogram.
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        max_batch: int = 2000,
        on_commit: CommitObserver | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._outbox = outbox
        self._max_batch = max_batch
        self._on_commit = on_commit
        self.on_stored: StoredObserver | None = None
        """Receiver of each commit's rows; set once its owner exists (the forwarder is built
        after the outbox it reads)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-store")
        self._queue: deque[_Request] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        max_batch: int = 2000,
        on_commit: CommitObserver | None = None,
        **options: Unpack[OutboxOptions],
    ) -> AsyncOutbox:
        """Open (validate, maybe create) the store off the event loop and wrap it."""
        outbox = await asyncio.to_thread(partial(Outbox, path, **options))
        return cls(outbox, max_batch=max_batch, on_commit=on_commit)

    async def __aenter__(self) -> AsyncOutbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def append(self, entry: NewEntry) -> int:
        """Store one entry; returns its rowid once the batch holding it is committed.

        Raises:
            StoreFullError: The batch did not fit; nothing of it was stored.
            DuplicateEntryError: This entry's id is already stored.
        """
        (rowid,) = await self.append_many((entry,))
        return rowid

    async def append_many(self, entries: Sequence[NewEntry]) -> list[int]:
        """Store entries atomically, sharing a commit with concurrent appends."""
        return await self.append_message(None, entries) or []

    async def append_message(
        self, key: MessageKey | None, entries: Sequence[NewEntry]
    ) -> list[int] | None:
        """Store one device message's entries atomically: their rowids (``None``: stored before)."""
        if self._closed:
            raise StoreError("outbox is closed")
        if not entries:
            return []
        loop = asyncio.get_running_loop()
        request = _Request(key, entries, loop.create_future())
        self._queue.append(request)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        stored = await request.future
        return None if stored is None else [row.rowid for row in stored]

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                if batch:
                    await self._commit(batch)
        finally:
            self._flusher = None

    def _take(self) -> list[_Request]:
        batch: list[_Request] = []
        rows = 0
        while self._queue:
            request = self._queue[0]
            if batch and rows + len(request.entries) > self._max_batch:
                break
            self._queue.popleft()
            if not request.future.done():  # skip callers that were cancelled while queued
                batch.append(request)
                rows += len(request.entries)
        return batch

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            stored, seconds = await self._call(partial(self._timed_append, batch))
        except DuplicateEntryError as exc:
            clashing = set(exc.ids)
            bad = [r for r in batch if any(e.id in clashing for e in r.entries)]
            rest = [r for r in batch if r not in bad]
            _fail(bad or batch, exc)
            if bad and rest:  # innocent producers must not pay for another's duplicate
                await self._commit(rest)
            return
        except Exception as exc:
            _fail(batch, exc)
            return
        except BaseException as exc:  # cancelled: the outcome is unknown to the callers too
            _fail(batch, exc)
            raise
        rows = [row for request_rows in stored for row in request_rows or ()]
        if self.on_stored is not None and rows:
            try:
                self.on_stored(rows)
            except Exception:
                log.exception("on_stored observer failed")
        for request, request_rows in zip(batch, stored, strict=True):
            if not request.future.done():
                request.future.set_result(request_rows)
        if self._on_commit is not None:
            try:
                self._on_commit(len(rows), seconds)
            except Exception:
                log.exception("on_commit observer failed")

    def _timed_append(self, batch: list[_Request]) -> tuple[list[list[StoredEntry] | None], float]:
        start = time.perf_counter()
        stored = self._outbox.append_messages([(r.key, r.entries) for r in batch])
        return stored, time.perf_counter() - start

    async def _call(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def claim(
        self, lane: int, *, after_rowid: int = 0, limit: int = 500
    ) -> list[StoredEntry]:
        """See ``Outbox.claim``."""
        return await self._call(
            partial(self._outbox.claim, lane, after_rowid=after_rowid, limit=limit)
        )

    async def mark_sent(self, rowids: Iterable[int]) -> None:
        """See ``Outbox.mark_sent``."""
        await self._call(partial(self._outbox.mark_sent, list(rowids)))

    async def mark_acked(self, ids: Iterable[str]) -> int:
        """See ``Outbox.mark_acked``."""
        return await self._call(partial(self._outbox.mark_acked, list(ids)))

    async def requeue_sent(self, older_than_s: float | None = None) -> int:
        """See ``Outbox.requeue_sent``."""
        return await self._call(partial(self._outbox.requeue_sent, older_than_s))

    async def quarantine(self, rowid: int, reason: str) -> None:
        """See ``Outbox.quarantine``."""
        await self._call(partial(self._outbox.quarantine, rowid, reason))

    async def replay(self, *, ids: Sequence[str] | None = None, since: float | None = None) -> int:
        """See ``Outbox.replay``."""
        return await self._call(partial(self._outbox.replay, ids=ids, since=since))

    async def prune(self) -> int:
        """See ``Outbox.prune``."""
        return await self._call(self._outbox.prune)

    async def list(self, state: State | None = None, limit: int = 50) -> list[StoredEntry]:
        """See ``Outbox.list``."""
        return await self._call(partial(self._outbox.list, state, limit))

    async def last_sequences(self) -> dict[str, int]:
        """See ``Outbox.last_sequences``."""
        return await self._call(self._outbox.last_sequences)

    async def stats(self) -> OutboxStats:
        """See ``Outbox.stats``."""
        return await self._call(self._outbox.stats)

    async def close(self) -> None:
        """Commit every queued append, then close the store and stop the worker thread."""
        if self._closed:
            return
        self._closed = True
        while self._flusher is not None or self._queue:
            if self._flusher is None:
                self._flusher = asyncio.get_running_loop().create_task(self._flush())
            await asyncio.wait([self._flusher])
        await self._call(self._outbox.close)
        self._executor.shutdown(wait=False)


def _fail(batch: Iterable[_Request], exc: BaseException) -> None:
    for request in batch:
        if request.future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            request.future.cancel()
        else:
            request.future.set_exception(exc)
