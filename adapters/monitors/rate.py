"""How often a monitor's numerics are forwarded, so a ward of monitors fits a thin uplink.

Monitors send numerics about once a second; the EMR charts far fewer. Per device, a policy
decides which observations go on: ``every`` (all), ``interval`` (at most one snapshot per bed
and interval), or ``change`` (an observation only when it moved beyond its deadband since the
value last forwarded, or when ``max_silence_s`` passed, so a flat line is still charted).
Alarms never pass through here: they are never thinned. Time is an argument (sans-IO).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from adapters.canonical.codes import Observation
from adapters.canonical.events import VitalSigns

Mode = Literal["every", "interval", "change"]


@dataclass
class RatePolicy:
    mode: Mode = "every"
    interval_s: float = 60.0
    deadbands: dict[str, float] = field(default_factory=dict)
    """Absolute change per code (MDC code or local code); ``*`` for every other code."""
    max_silence_s: float = 300.0
    _last_sent: dict[str, float] = field(default_factory=dict)
    _last_value: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def apply(self, vitals: VitalSigns, now: float) -> VitalSigns | None:
        """The part of ``vitals`` to forward now, or ``None`` when nothing is due."""
        if self.mode == "every":
            return vitals
        bed = vitals.bed or ""
        if self.mode == "interval":
            last = self._last_sent.get(bed)
            if last is not None and now - last < self.interval_s:
                return None
            self._last_sent[bed] = now
            return vitals
        kept = [o for o in vitals.observations if self._changed(bed, o, now)]
        return vitals.model_copy(update={"observations": kept}) if kept else None

    def _changed(self, bed: str, observation: Observation, now: float) -> bool:
        if not isinstance(observation.value, int | float) or isinstance(observation.value, bool):
            return True  # text or missing values are rare and always worth charting
        code = (observation.code or observation.local_code).code
        key = (bed, code)
        value = float(observation.value)
        previous = self._last_value.get(key)
        band = self.deadbands.get(code, self.deadbands.get("*", 0.0))
        if previous is not None:
            last_value, sent_at = previous
            if abs(value - last_value) <= band and now - sent_at < self.max_silence_s:
                return False
        self._last_value[key] = (value, now)
        return True
