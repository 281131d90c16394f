"""Options of the ``intellivue-monitor`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.monitors.intellivue_kind:IntelliVueOptions``.
"""

from __future__ import annotations

from pydantic import Field

from adapters.monitors.intellivue.session import SessionConfig
from adapters.monitors.rate_options import RateOptions
from adapters.zones import ZoneOptions


class IntelliVueOptions(RateOptions, ZoneOptions):
    """A Philips IntelliVue monitor polled over Data Export (MIB/RS232 or LAN)."""

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

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            poll_interval_s=self.poll_interval_s,
            keep_alive_s=self.keep_alive_s,
            silence_timeout_s=self.silence_timeout_s,
            poll_alarms=self.poll_alarms,
        )
