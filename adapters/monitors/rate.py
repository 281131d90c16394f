"""How often a monitor's numerics are forwarded, so a ward of monitors fits a thin uplink.

Monitors send numerics about once a second; the EMR charts far fewer. Per device, a policy
decides which observations go on: ``every`` (all), ``interval`` (at most one snapshot per bed
and interval), or ``change`` (an observation only when it moved beyond its deadband since the
value last forwarded, or when ``max_silence_s`` passed, so a flat line is still charted).
Under ``change`` a coded or text value (a posture, a ventilator mode) goes on when its text
changes, else after ``max_silence_s``; each channel (OBX-4 ``sub_id``: SpO2 ``1.3.1`` and
``1.3.2``) is followed on its own. Alarms never pass through here: they are never thinned.
Time is an argument (sans-IO).
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
    _last_value: dict[tuple[str, str, str], tuple[float | str, float]] = field(default_factory=dict)

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
        value: float | str
        if observation.value is None or isinstance(observation.value, bool):
            return True  # a missing value (sensor off) is always worth charting
        if isinstance(observation.value, int | float):
            value = float(observation.value)
        else:
            value = observation.reported.text if observation.reported else observation.value
        code = (observation.code or observation.local_code).code
        key = (bed, code, observation.sub_id or "")
        previous = self._last_value.get(key)
        band = self.deadbands.get(code, self.deadbands.get("*", 0.0))
        if previous is not None:
            last_value, sent_at = previous
            if _within(value, last_value, band) and now - sent_at < self.max_silence_s:
                return False
        self._last_value[key] = (value, now)
        return True


def _within(value: float | str, last: float | str, band: float) -> bool:
    """Numbers within the deadband; a text only when it is the same text."""
    if isinstance(value, float) and isinstance(last, float):
        return abs(value - last) <= band
    return value == last
