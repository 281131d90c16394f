"""Repeated log lines, rate-limited: the first few pass, the rest are counted and summarised.

A flood of identical lines (``accept()`` failing at the file limit, a port full of noise, a
connection cap being hit thousands of times) once grew the log by 100 MB in 45 s and buried
the one line that mattered (issue 11, defect 3). :class:`RepeatLimiter` is installed on the
gateway's log handlers, so every logger is covered, including asyncio's own. Lines are alike
when they share logger, level, *format string* and first argument (by convention the device
id): "device %s: %s connected" for every peer of one device is one kind of line, and a noisy
device cannot silence another's lines. Per kind and per ``interval_s``, ``burst`` lines pass;
the next line of that kind after the interval carries how many were suppressed before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

_Key = tuple[str, int, str, str]


@dataclass(slots=True)
class _Window:
    started: float
    passed: int = 0
    suppressed: int = 0


class RepeatLimiter(logging.Filter):
    """A :class:`logging.Filter`: at most ``burst`` alike lines per ``interval_s``."""

    def __init__(
        self,
        *,
        burst: int = 5,
        interval_s: float = 60.0,
        max_kinds: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._interval = interval_s
        self._max_kinds = max_kinds  # bounded memory even if format strings were unbounded
        self._clock = clock
        self._windows: dict[_Key, _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        first = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        key = (record.name, record.levelno, str(record.msg), str(first)[:64])
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self._interval:
            suppressed = window.suppressed if window is not None else 0
            if len(self._windows) >= self._max_kinds and window is None:
                self._forget_old(now)
            window = self._windows[key] = _Window(now)
            if suppressed:
                record.msg = f"{record.msg} [{suppressed} more like this suppressed]"
        if window.passed < self._burst:
            window.passed += 1
            return True
        window.suppressed += 1
        return False

    def _forget_old(self, now: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= self._interval]
        for key in expired or list(self._windows)[: len(self._windows) // 2]:
            del self._windows[key]


def limit_repeats_everywhere() -> None:
    """Rate-limit what every handler of the root logger writes (call after configuring it)."""
    limiter = RepeatLimiter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(limiter)
