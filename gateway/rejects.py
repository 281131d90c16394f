"""Malformed device input kept for inspection, coalesced, off the event loop, within a budget.

Answering a bad frame NAK/AE/AR is not enough for the engineer who must find out why an
analyzer sends it, so its bytes are kept next to the store (they may hold patient data: 0700
folders, 0600 files). But a noisy port can reject thousands of frames a second (issue 11,
defect 5), so:

- :meth:`RejectArchive.keep` only puts the reject on a bounded queue and returns; a full queue
  drops it (counted). It never blocks and never raises: the event loop serves every device.
- One thread writes. A device's rejects are gathered into a *burst* that ends after ``quiet_s``
  without a reject or ``max_burst_s`` after it began; each burst is one record file: a JSON
  header line (times, counts per reason, samples) and then the first ``record_bytes`` of the
  rejected bytes. One log line when a burst begins and one when its record is written.
- Records live within ``budget_bytes`` (carved out of the store quota by the daemon): the
  oldest record of the device using the most is deleted first. The folder is listed once, at
  start. A record is not written while the disk's free space would drop below
  ``min_free_bytes`` plus the budget, so rejects never take the headroom the outbox needs.

The record format, and :func:`~gateway.reject_records.read_records` to read records back (tests,
the hostile suite, an engineer's script), are in :mod:`gateway.reject_records`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from gateway.reject_records import SUFFIX, Burst, record_bytes

log = logging.getLogger("wardlink.rejects")

_MAX_REASON_CHARS = 120
_MAX_REASONS = 20  # distinct reasons per record; more are counted as "(other reasons)"
_MAX_SAMPLES = 64
_STOP = object()


class _Reject(NamedTuple):
    at: float  # wall clock, for the record
    arrived: float  # monotonic: bursts are told apart by when rejects happened, not when written
    device: str
    reason: str
    head: bytes  # at most record_bytes, cut on the caller's side to bound the queue
    size: int


class RejectArchive:
    def __init__(
        self,
        directory: Path,
        *,
        budget_bytes: int,
        min_free_bytes: int = 0,
        record_bytes: int = 16 * 1024,
        quiet_s: float = 2.0,
        max_burst_s: float = 30.0,
        queue_size: int = 256,
        on_unkept: Callable[[str, int], None] | None = None,
        start: bool = True,
    ) -> None:
        self.directory = directory
        self._budget = budget_bytes
        self._min_free = min_free_bytes
        self._record_bytes = record_bytes
        self._quiet_s = quiet_s
        self._max_burst_s = max_burst_s
        # A deque and an event rather than queue.Queue: Queue.put takes a lock and notifies the
        # writer for every item, which cost as much as the rest of a reject on the event loop.
        self._pending: deque[_Reject | object] = deque()
        self._queue_size = queue_size
        self._wake = threading.Event()
        self._on_unkept = on_unkept or (lambda _why, _count: None)
        self._bursts: dict[str, Burst] = {}
        self._records: dict[str, deque[tuple[Path, int]]] = {}
        self._used: dict[str, int] = {}
        self._used_total = 0
        self._written = 0
        # Each counter has one writer: the caller's thread drops, the writer thread loses records.
        self._dropped = 0
        self._not_written = 0
        self._thread = threading.Thread(target=self._run, name="rejects", daemon=True)
        if start:
            self.start()

    # -- the event loop's side: never blocks, never raises ---------------------------------

    def keep(self, device_id: str, reason: str, raw: bytes) -> None:
        """Queue a reject for its device's burst; if the queue is full, drop and count it."""
        if len(self._pending) >= self._queue_size:
            self._dropped += 1
            self._on_unkept("queue full", 1)
            return
        reason, head = reason[:_MAX_REASON_CHARS], raw[: self._record_bytes]
        self._pending.append(
            _Reject(time.time(), time.monotonic(), device_id, reason, head, len(raw))
        )
        if not self._wake.is_set():
            self._wake.set()

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Write the open bursts and stop the thread (blocking: call it from a thread)."""
        if not self._thread.is_alive():
            return
        self._pending.append(_STOP)
        self._wake.set()
        self._thread.join(timeout_s)

    @property
    def used_bytes(self) -> int:
        """Bytes of the records on disk (written by the thread; read anywhere)."""
        return self._used_total

    @property
    def unkept(self) -> int:
        """Rejects counted but not kept: queue full, over budget, no disk headroom, or error."""
        return self._dropped + self._not_written

    # -- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        self._load_index()
        while True:
            self._wake.wait(self._next_close_in())
            self._wake.clear()  # before draining: an item appended meanwhile sets it again
            for _ in range(len(self._pending)):  # what is there now: closes are due too
                item = self._pending.popleft()
                if item is _STOP:
                    for burst in list(self._bursts.values()):
                        self._close(burst)
                    return
                if isinstance(item, _Reject):
                    self._add(item)
            # A quiet gap is judged only with the queue drained: a writer running behind must
            # not split a burst that the device sent without a pause.
            caught_up = not self._pending
            now = time.monotonic()
            for burst in list(self._bursts.values()):
                quiet = caught_up and now - burst.last >= self._quiet_s
                if quiet or now - burst.started >= self._max_burst_s:
                    self._close(burst)

    def _next_close_in(self) -> float | None:
        if not self._bursts:
            return None
        due = min(
            min(b.last + self._quiet_s, b.started + self._max_burst_s)
            for b in self._bursts.values()
        )
        return max(0.0, due - time.monotonic())

    def _add(self, reject: _Reject) -> None:
        burst = self._bursts.get(reject.device)
        if burst is None:
            burst = self._bursts[reject.device] = Burst(reject.device, reject.at, reject.arrived)
            log.warning(
                "device %s: input rejected: %s (rejects that follow are counted and kept "
                "together in one record)",
                reject.device,
                reject.reason,
            )
        burst.last = reject.arrived
        burst.rejects += 1
        burst.rejected_bytes += reject.size
        reason = reject.reason
        if reason not in burst.reasons and len(burst.reasons) >= _MAX_REASONS:
            reason = "(other reasons)"
        burst.reasons[reason] = burst.reasons.get(reason, 0) + 1
        room = self._record_bytes - burst.sample_bytes
        if room > 0 and reject.head and len(burst.samples) < _MAX_SAMPLES:
            head = reject.head[:room]
            burst.samples.append((reject.reason, head, reject.size))
            burst.sample_bytes += len(head)

    def _close(self, burst: Burst) -> None:
        del self._bursts[burst.device]
        data = record_bytes(burst)
        path, why = self._write(burst.device, data)
        seconds = burst.last - burst.started
        where = f"kept as {path}" if path else "not kept (see wardlink.rejects warnings)"
        log.warning(
            "device %s: %d input(s) rejected in %.1f s (%s); %s",
            burst.device,
            burst.rejects,
            seconds,
            ", ".join(f"{reason}: {n}" for reason, n in burst.reasons.items()),
            where,
        )
        if path is None:
            self._not_written += burst.rejects
            self._on_unkept(why, burst.rejects)

    def _write(self, device: str, data: bytes) -> tuple[Path | None, str]:
        """Write one record; ``(path, "")``, or ``(None, why not)``."""
        if len(data) > self._budget:
            return None, "budget"
        try:
            free = os.statvfs(self.directory.parent)
            if free.f_bavail * free.f_frsize - len(data) < self._min_free + self._budget:
                log.warning("rejected input of %s not kept: the disk is nearly full", device)
                return None, "disk"
            while self.used_bytes + len(data) > self._budget:
                self._evict_one()
            folder = self.directory / device
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._written += 1
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            path = folder / f"{stamp}-{self._written:06d}{SUFFIX}"
            partial = path.with_suffix(".part")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            partial.replace(path)
        except OSError as exc:
            log.warning("could not keep rejected input of %s: %s", device, exc)
            return None, "error"
        self._account(device, path, len(data))
        return path, ""

    def _account(self, device: str, path: Path, size: int) -> None:
        self._records.setdefault(device, deque()).append((path, size))
        self._used[device] = self._used.get(device, 0) + size
        self._used_total += size

    def _evict_one(self) -> None:
        device = max(self._used, key=lambda d: self._used[d])
        path, size = self._records[device].popleft()
        self._used[device] -= size
        self._used_total -= size
        if not self._records[device]:
            del self._records[device], self._used[device]
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _load_index(self) -> None:
        """List the folder once: records kept by earlier runs count against the budget."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.directory.chmod(0o700)
            for folder in sorted(self.directory.iterdir()):
                if not folder.is_dir():
                    continue
                folder.chmod(0o700)
                for path in sorted(folder.iterdir()):
                    if path.suffix == ".part":
                        path.unlink()
                        continue
                    self._account(folder.name, path, path.stat().st_size)
            while self._used and self.used_bytes > self._budget:  # a smaller budget than before
                self._evict_one()
        except OSError as exc:
            log.warning("could not read the rejected-input folder %s: %s", self.directory, exc)
