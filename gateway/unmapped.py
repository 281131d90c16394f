"""Unmapped local test codes, counted per device in memory and listed on request.

A code the code map does not know is a row to add to the map, so the engineer needs the code
itself, but a code field is device input and can hold anything (a patient's name has been seen
there). So codes never become metric labels (``wardlink_unmapped_codes_total`` is per device),
never reach logs, and are kept bounded: at most ``max_codes`` distinct codes per device, each cut
to ``max_chars`` safe characters; the rest is counted as ``other``. They are listed by
``GET /api/unmapped-codes`` on the control surface and ``wardlink unmapped``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._:/*#%+\-]")


@dataclass
class _DeviceCodes:
    counts: dict[str, int] = field(default_factory=dict)
    other: int = 0


class UnmappedCodes:
    def __init__(self, *, max_codes: int = 200, max_chars: int = 32) -> None:
        self._max_codes = max_codes
        self._max_chars = max_chars
        self._devices: dict[str, _DeviceCodes] = {}

    def count(self, device_id: str, code: str) -> None:
        """Count one unmapped observation; ``device_id`` comes from the config, ``code`` not."""
        codes = self._devices.setdefault(device_id, _DeviceCodes())
        shown = _UNSAFE.sub("?", code[: self._max_chars])
        if shown in codes.counts:
            codes.counts[shown] += 1
        elif len(codes.counts) < self._max_codes:
            codes.counts[shown] = 1
        else:
            codes.other += 1

    def listing(self) -> dict[str, Any]:
        """``{device: {"codes": {code: count}, "other": count}}``, codes most frequent first."""
        return {
            device: {
                "codes": dict(sorted(codes.counts.items(), key=lambda item: (-item[1], item[0]))),
                "other": codes.other,
            }
            for device, codes in sorted(self._devices.items())
        }
