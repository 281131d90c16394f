"""Sortable unique ids (ULIDs): envelope ids, and ids a device session gives its questions.

48 bits of milliseconds then 80 random bits in Crockford base32, so ids sort by creation time
as plain strings and need no coordination between gateways. Within one millisecond the random
part is incremented, keeping ids from one factory strictly increasing. Here, not in the
gateway, because a kind's ``prepare`` hands a factory to its sessions (adapters never import
the gateway); the sessions themselves only call what they were given.
"""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two base32 digits per lookup: 10 bits at a time halves the Python-level work.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]


def _encode(value: int, digits: int) -> str:
    return "".join(_PAIRS[(value >> shift) & 1023] for shift in range(digits * 5 - 10, -1, -10))


class UlidFactory:
    """Monotonic ULIDs for one process."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_rand = 0
        self._time_digits = ""

    def new(self, now_s: float | None = None) -> str:
        ms = int((time.time() if now_s is None else now_s) * 1000)
        if ms <= self._last_ms:
            rand = (self._last_rand + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(os.urandom(10), "big")
            self._last_ms, self._time_digits = ms, _encode(ms, 10)
        self._last_rand = rand
        # 10 digits of milliseconds (48 bits, 2 leading zero bits), 16 of randomness (80 bits).
        return self._time_digits + _encode(rand, 16)
