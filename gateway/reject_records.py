"""The record of one burst of rejected input: how it is written and read back.

A record file (``rejected/<device>/<UTC time>-<n>.rej``, see :mod:`gateway.rejects`) is one JSON
header line, then the kept bytes of its samples, one after another::

    {"device": "analyzer-1", "first": "2026-...Z", "seconds": 12.5, "rejects": 20913,
     "rejected_bytes": 1048576, "reasons": {"bad checksum": 20900, ...},
     "samples": [{"reason": "bad checksum", "kept": 212, "size": 212}, ...]}  (newline)
    <212 bytes of the first sample><...>

``kept`` bytes of each sample are stored (``size`` is what the device sent); the samples stop
at the archive's ``record_bytes``, the counts never do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SUFFIX = ".rej"


@dataclass
class Burst:
    """A device's rejects gathered since the burst began (the writer thread's state)."""

    device: str
    first: float  # wall clock, for the record
    started: float  # monotonic, for closing it
    last: float = 0.0
    rejects: int = 0
    rejected_bytes: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[str, bytes, int]] = field(default_factory=list)
    sample_bytes: int = 0


@dataclass(frozen=True)
class RejectRecord:
    """One burst of one device's rejected input, as read back from its file."""

    path: Path
    header: dict[str, Any]
    samples: list[tuple[str, bytes]]

    @property
    def rejects(self) -> int:
        count: int = self.header["rejects"]
        return count


def record_bytes(burst: Burst) -> bytes:
    header = {
        "device": burst.device,
        "first": _iso(burst.first),
        "seconds": round(burst.last - burst.started, 3),
        "rejects": burst.rejects,
        "rejected_bytes": burst.rejected_bytes,
        "reasons": burst.reasons,
        "samples": [{"reason": r, "kept": len(head), "size": n} for r, head, n in burst.samples],
    }
    return json.dumps(header).encode() + b"\n" + b"".join(h for _, h, _ in burst.samples)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def read_records(directory: Path, device_id: str | None = None) -> list[RejectRecord]:
    """The records under ``directory`` (one device's, or all), oldest first per device."""
    folders = [directory / device_id] if device_id else sorted(directory.glob("*/"))
    records = []
    for folder in folders:
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # evicted by a running gateway meanwhile
            head, _, body = data.partition(b"\n")
            header = json.loads(head)
            samples, offset = [], 0
            for sample in header["samples"]:
                samples.append((sample["reason"], body[offset : offset + sample["kept"]]))
                offset += sample["kept"]
            records.append(RejectRecord(path, header, samples))
    return records
