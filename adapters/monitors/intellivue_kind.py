"""The ``intellivue-monitor`` kind: its declaration and its options (``[devices.options]``).

Registry import strings: ``adapters.monitors.intellivue_kind:KIND`` (the declaration) and
``adapters.monitors.intellivue_kind:IntelliVueOptions`` (the options model).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice, Simulator
from adapters.monitors.intellivue.device_session import IntelliVueDeviceSession
from adapters.monitors.intellivue.session import SessionConfig
from adapters.monitors.rate_options import RateOptions
from adapters.zones import ZoneOptions, device_zone


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


def prepare(device: DeviceSetup) -> PreparedDevice:
    """One rate policy and zone per device: a new line keeps thinning where the last left it."""
    options: IntelliVueOptions = device.options
    config = options.session_config()
    policy = options.rate_policy()
    zone = device_zone(options.timezone)
    return PreparedDevice(
        new_session=lambda _peer: IntelliVueDeviceSession(
            device.id,
            config,
            capability=device.capability,
            policy=policy,
            zone=zone,
            bed=options.bed,
            frame_header=options.frame_header,
        ),
        idle_timeout_s=None,  # the session always has a deadline: polls, keep-alive, watchdog
        close_wait_s=config.release_timeout_s,
    )


KIND = DeviceKind(
    name="intellivue-monitor",
    description="Philips IntelliVue monitor polled over Data Export (MIB/RS232 serial or LAN UDP)",
    options_model=IntelliVueOptions,
    prepare=prepare,
    schemes=("serial", "udp"),
    sample_config=Path(__file__).with_name("intellivue_sample.toml"),
    simulator=Simulator(
        "intellivue", "intellivue_monitor", "a Philips IntelliVue monitor speaking Data Export"
    ),
)
