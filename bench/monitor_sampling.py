"""The monitor bench's view of the gateway process: CPU and RSS read from ``/proc``.

CPU is ``utime + stime`` from ``/proc/<pid>/stat``, as a share of one core over a window; RSS
is ``VmRSS`` from ``/proc/<pid>/status``. :func:`watch` samples both every 0.2 s while the
ward runs, so the rows can give the peak and the value at the end.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    at: float
    cpu_s: float
    rss_mib: float


def sample(pid: int) -> Sample:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Sample(time.time(), cpu_s, rss_kib / 1024)


async def watch(pid: int, samples: list[Sample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(sample(pid))
        await asyncio.sleep(0.2)
    samples.append(sample(pid))


def cpu_pct(samples: list[Sample], start: float, end: float) -> float:
    window = [s for s in samples if start <= s.at <= end]
    if len(window) < 2:
        return float("nan")
    first, last = window[0], window[-1]
    return 100 * (last.cpu_s - first.cpu_s) / (last.at - first.at)
