"""Options of the ``hl7-monitor`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.monitors.kind:Hl7MonitorOptions``.
"""

from __future__ import annotations

from pydantic import Field

from adapters.hl7.options import Hl7LinkOptions
from adapters.monitors.rate_options import RateOptions


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
