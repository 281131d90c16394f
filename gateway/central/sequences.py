"""Per-device sequence accounting for a consumer: which numbers are still missing.

Envelopes of one device do not arrive in sequence order: an alarm takes the alarm lane past the
device's own backlog, and a re-send after a reconnect arrives after newer envelopes. A gap is
therefore a number not received *yet*; it closes when the number arrives late. Missing numbers
are kept as disjoint ranges, so an alarm overtaking a backlog of 50,000 costs one range, and
each backlog envelope arriving after it shrinks that range from its low end.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass
class _Device:
    highest: int
    missing: list[list[int]] = field(default_factory=list)
    """Sorted, disjoint ``[first, last]`` ranges of numbers below ``highest`` not yet seen."""

    def see(self, seq: int) -> bool:
        """Record ``seq``; True when it arrived after a higher number (late, filling a gap)."""
        if seq > self.highest:
            if seq > self.highest + 1:
                self.missing.append([self.highest + 1, seq - 1])
            self.highest = seq
            return False
        at = bisect.bisect_right(self.missing, seq, key=lambda r: r[0]) - 1
        if at < 0 or seq > self.missing[at][1]:
            return False  # seen before (the caller counts duplicates by envelope id)
        first, last = self.missing[at]
        if first == last:
            del self.missing[at]
        elif seq == first:
            self.missing[at][0] = seq + 1
        elif seq == last:
            self.missing[at][1] = seq - 1
        else:
            self.missing[at : at + 1] = [[first, seq - 1], [seq + 1, last]]
        return True

    def missing_count(self) -> int:
        return sum(last - first + 1 for first, last in self.missing)


class SequenceTracker:
    """Missing and late sequence numbers per device key (``gateway/device``)."""

    def __init__(self) -> None:
        self._devices: dict[str, _Device] = {}
        self.late: dict[str, int] = {}
        """Envelopes that arrived after a higher number of their device (reordered, not lost)."""

    def see(self, key: str, seq: int) -> None:
        device = self._devices.get(key)
        if device is None:
            self._devices[key] = _Device(highest=seq)
        elif device.see(seq):
            self.late[key] = self.late.get(key, 0) + 1

    def gaps(self) -> dict[str, int]:
        """Numbers still missing per device, between its first and its highest received."""
        counts = {key: device.missing_count() for key, device in self._devices.items()}
        return {key: count for key, count in counts.items() if count}
