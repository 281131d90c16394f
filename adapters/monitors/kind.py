"""Options of the ``hl7-monitor`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.monitors.kind:Hl7MonitorOptions``.
"""

from __future__ import annotations

from pydantic import Field

from adapters.hl7.options import Hl7LinkOptions
from adapters.monitors.rate import Mode, RatePolicy


class Hl7MonitorOptions(Hl7LinkOptions):
    """A bedside monitor, central station or vendor HL7 gateway sending IHE PCD-01/PCD-04."""

    accept: tuple[str, ...] = Field(
        # Waveforms (ORU^W01) are acknowledged but not forwarded yet, so a monitor that streams
        # them is not answered AR forever.
        default=("ORU^R01", "ORU^R40", "ORU^W01"),
        description="message types taken; others are answered AR (unsupported message type)",
    )
    forward: Mode = Field(
        default="every",
        description="numerics: every sample, one snapshot per bed per interval_s, or on change "
        "beyond a deadband; alarms are always forwarded",
    )
    interval_s: float = Field(default=60.0, gt=0)
    deadbands: dict[str, float] = Field(
        default_factory=lambda: {"*": 0.0},
        description="absolute change per MDC code (e.g. 150456 = SpO2) or '*' for the rest",
    )
    max_silence_s: float = Field(
        default=300.0, gt=0, description="with forward = change: chart an unchanged value anyway"
    )

    def rate_policy(self) -> RatePolicy:
        return RatePolicy(
            mode=self.forward,
            interval_s=self.interval_s,
            deadbands=dict(self.deadbands),
            max_silence_s=self.max_silence_s,
        )
