"""The ``[devices.options]`` keys every monitor kind shares: how numerics are thinned."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.monitors.rate import Mode, RatePolicy


class RateOptions(BaseModel):
    """Forward numerics every sample, once per interval, or on change; alarms always."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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
