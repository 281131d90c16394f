"""The envelope's ``device_time``: the time the device stated for what it reports.

The event's own time (a lab report's result time, else its latest observation time, else the
collection time; a vital-signs snapshot's measurement time; an alarm's raise time; a reading's
measurement time), else the message time the runner read (HL7 MSH-7, ASTM H-14), else none.
Zone rule (docs/mqtt-contract.md): the codecs already applied the sent offset, else the device's
``timezone`` option, else the gateway's zone.
"""

from __future__ import annotations

from datetime import datetime

from adapters.canonical.events import (
    Alarm,
    CanonicalEvent,
    EnvironmentReading,
    LabResult,
    VitalSigns,
)


def stated_time(event: CanonicalEvent, message_time: datetime | None) -> datetime | None:
    if isinstance(event, LabResult):
        observed = [o.observed_at for o in event.observations if o.observed_at is not None]
        own = event.resulted_at or max(observed, default=None) or event.collected_at
    elif isinstance(event, VitalSigns | EnvironmentReading):
        own = event.measured_at
    elif isinstance(event, Alarm):
        own = event.raised_at
    else:
        own = None
    return own or message_time
