"""The ``hl7-monitor`` kind: its declaration and its options (``[devices.options]``).

Registry import strings: ``adapters.monitors.kind:KIND``,
``adapters.monitors.kind:Hl7MonitorOptions``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from adapters.hl7.device_session import prepare_hl7_link
from adapters.hl7.options import Hl7LinkOptions
from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice, Simulator
from adapters.monitors.hl7_reader import MonitorReader
from adapters.monitors.rate_options import RateOptions
from adapters.zones import device_zone


class Hl7MonitorOptions(Hl7LinkOptions, RateOptions):
    """A bedside monitor, central station or vendor HL7 gateway sending IHE PCD-01/PCD-04."""

    accept: tuple[str, ...] = Field(
        # Waveforms (ORU^W01) are acknowledged but not forwarded yet, so a monitor that streams
        # them is not answered AR forever.
        default=("ORU^R01", "ORU^R40", "ORU^W01"),
        description="message types taken; others are answered AR (unsupported message type)",
    )
    max_connections: int = Field(
        # A ward's monitors each open their own connection to one port: 30 beds is common.
        default=64,
        ge=1,
        le=256,
        description="listen://: peers connected at once (one per bedside monitor); at the cap "
        "the quietest connection is closed for a new one (or the new one refused if all are busy)",
    )


def prepare(device: DeviceSetup) -> PreparedDevice:
    """One rate policy for the device, whichever connection a bed's numerics arrive on."""
    options: Hl7MonitorOptions = device.options
    reader = MonitorReader(options.rate_policy(), device_zone(options.timezone))
    return prepare_hl7_link(device, options, lambda _peer: reader)


KIND = DeviceKind(
    name="hl7-monitor",
    description="Bedside monitor or central station sending IHE PCD-01/PCD-04 over MLLP",
    options_model=Hl7MonitorOptions,
    prepare=prepare,
    schemes=("listen", "tcp", "serial"),
    sample_config=Path(__file__).with_name("sample.toml"),
    simulator=Simulator(
        "monitors", "monitor_ward", "a ward of bedside monitors over MLLP (PCD-01, PCD-04)"
    ),
)
