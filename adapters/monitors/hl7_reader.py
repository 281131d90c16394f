"""A monitor's reading of one HL7 message: PCD-01 → ``vital_signs``, PCD-04 → ``alarm``.

Numerics are thinned by the device's rate policy, shared by all its connections (a central
station may reconnect, a bed's thinning must not start over); alarms never are.
"""

from __future__ import annotations

from datetime import tzinfo

from adapters.canonical.events import CanonicalEvent, VitalSigns
from adapters.hl7.message import Message
from adapters.monitors.pcd import monitor_events_from_hl7
from adapters.monitors.rate import RatePolicy


class MonitorReader:
    """The mapper of every connection of one ``hl7-monitor`` device."""

    def __init__(self, policy: RatePolicy, local_zone: tzinfo) -> None:
        self._policy = policy
        self._zone = local_zone

    def __call__(self, message: Message, now: float) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        for event in monitor_events_from_hl7(message, local_zone=self._zone):
            kept = self._policy.apply(event, now) if isinstance(event, VitalSigns) else event
            if kept is not None:
                events.append(kept)
        return events
