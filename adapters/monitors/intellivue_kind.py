"""Options of the ``intellivue-monitor`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.monitors.intellivue_kind:IntelliVueOptions``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.monitors.intellivue.session import SessionConfig
from adapters.monitors.rate import Mode, RatePolicy


class IntelliVueOptions(BaseModel):
    """A Philips IntelliVue monitor polled over Data Export (MIB/RS232 or LAN)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_interval_s: float = Field(
        default=1.0, ge=0.5, le=300, description="how often numerics and alarms are polled"
    )
    poll_alarms: bool = Field(default=True, description="also poll the alarm lists")
    keep_alive_s: float = Field(
        default=5.0,
        gt=0,
        le=9,
        description="keep-alive when nothing was sent for this long "
        "(the monitor drops an association after 10 s of silence)",
    )
    silence_timeout_s: float = Field(
        default=10.0, gt=0, description="re-associate when the monitor says nothing this long"
    )
    bed: str | None = Field(
        default=None, description="bed label when the monitor does not send one"
    )
    frame_header: bool = Field(
        default=True,
        description="serial: send the MIB/RS232 transport header before each PDU "
        "(frames are read with or without it)",
    )
    forward: Mode = Field(
        default="every",
        description="numerics: every poll, one snapshot per bed per interval_s, or on change "
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

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            poll_interval_s=self.poll_interval_s,
            keep_alive_s=self.keep_alive_s,
            silence_timeout_s=self.silence_timeout_s,
            poll_alarms=self.poll_alarms,
        )
