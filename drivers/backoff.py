"""Reconnect delays shared by every driver user: exponential growth with full jitter.

Full jitter (a uniform draw up to the current ceiling) spreads the retries of many devices that
dropped together, e.g. after a ward switch reboots, so they do not reconnect in lock-step. The
draw never goes below ``minimum`` so a flapping device cannot spin a busy loop.
"""

from __future__ import annotations

import random

_MAX_EXPONENT = 64


class Backoff:
    """Delays for successive failed attempts; :meth:`reset` after a success starts over.

    Args:
        minimum: floor of every delay and the first ceiling, in seconds.
        maximum: cap of the ceiling, in seconds.
        factor: growth of the ceiling per failed attempt.
        rng: source of jitter; pass a seeded ``random.Random`` for reproducible delays.
    """

    def __init__(
        self,
        minimum: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        if factor < 1:
            raise ValueError("backoff factor must be at least 1")
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self._rng = rng or random.Random()
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Failed attempts since the last reset."""
        return self._attempts

    def next_delay(self) -> float:
        """Return the delay before the next attempt and count this failure."""
        # The exponent is capped so a device that stays away for days cannot overflow a float.
        exponent = min(self._attempts, _MAX_EXPONENT)
        ceiling = min(self.maximum, self.minimum * self.factor**exponent)
        self._attempts += 1
        return self._rng.uniform(self.minimum, ceiling)

    def reset(self) -> None:
        """Forget past failures: the connection works again."""
        self._attempts = 0
