"""The accounting checker: what devices were acknowledged for, against what the centre got.

A device simulator records a key for every message the gateway acknowledged (an ASTM
specimen id after the final ACK, an HL7 control id after AA); the consumer's envelopes give the
keys that arrived. ``lost = acked - received`` must be empty: that is promise 1. Duplicates
(at-least-once delivery) and per-device sequence gaps are counted and reported, never hidden.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Envelope = dict[str, Any]
KeyOf = Callable[[Envelope], str | None]


def specimen_key(envelope: Envelope) -> str | None:
    """Lab and QC results are keyed by specimen id: one per message in the simulators' traffic."""
    payload = envelope["payload"]
    return payload.get("specimen_id") if payload["kind"] in ("lab_result", "qc_result") else None


@dataclass(frozen=True)
class Accounting:
    acked: int
    received: int
    """Envelopes that arrived, duplicates included."""
    lost: dict[str, set[str]]
    """Per device: keys the device was acknowledged for that never arrived."""
    duplicates: int
    gaps: dict[str, int] = field(default_factory=dict)
    """Per device: sequence numbers skipped between the lowest and highest seen."""

    @property
    def lost_total(self) -> int:
        return sum(len(keys) for keys in self.lost.values())

    def report(self) -> str:
        return (
            f"acked {self.acked}, received {self.received}, lost {self.lost_total}, "
            f"duplicates {self.duplicates}, sequence gaps {sum(self.gaps.values())}"
        )


def account(
    acked: Mapping[str, Iterable[str]],
    envelopes: Iterable[Envelope],
    key_of: KeyOf = specimen_key,
) -> Accounting:
    """Compare ``acked`` (device id → keys) with the envelopes the consumer wrote."""
    seen_ids: Counter[str] = Counter()
    arrived: dict[str, set[str]] = {}
    seqs: dict[str, set[int]] = {}
    for envelope in envelopes:
        seen_ids[envelope["id"]] += 1
        device = envelope["device_id"]
        seqs.setdefault(device, set()).add(envelope["seq"])
        key = key_of(envelope)
        if key is not None:
            arrived.setdefault(device, set()).add(key)
    lost = {}
    total = 0
    for device, device_keys in acked.items():
        keys = set(device_keys)
        total += len(keys)
        missing = keys - arrived.get(device, set())
        if missing:
            lost[device] = missing
    gaps = {
        device: (max(numbers) - min(numbers) + 1) - len(numbers)
        for device, numbers in seqs.items()
        if (max(numbers) - min(numbers) + 1) > len(numbers)
    }
    duplicates = sum(count - 1 for count in seen_ids.values())
    return Accounting(total, sum(seen_ids.values()), lost, duplicates, gaps)
