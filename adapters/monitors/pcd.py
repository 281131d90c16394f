"""Bedside-monitor HL7 to canonical events: the entry point, dispatching on MSH-9.

ORU^R01 (PCD-01) gives vital signs and ORU^R40 (PCD-04) alarms. ORU^W01 waveforms, and any other
type, give nothing: waveforms are hundreds of samples a second per lead and are not forwarded to
the clinical-event lanes (PROTOCOLS §9); the caller still has the raw message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from types import MappingProxyType
from typing import Protocol

from adapters.canonical.events import Alarm, VitalSigns
from adapters.hl7.message import Message
from adapters.hl7.timestamps import VIETNAM_TIME
from adapters.monitors.pcd01 import vitals_from_pcd01
from adapters.monitors.pcd04 import alarms_from_pcd04

__all__ = [
    "MAPPERS",
    "Mapper",
    "MonitorEvent",
    "alarms_from_pcd04",
    "monitor_events_from_hl7",
    "vitals_from_pcd01",
]

MonitorEvent = VitalSigns | Alarm


class Mapper(Protocol):
    def __call__(self, message: Message, *, local_zone: tzinfo) -> Sequence[MonitorEvent]: ...


MAPPERS: MappingProxyType[tuple[str, str], Mapper] = MappingProxyType(
    {("ORU", "R01"): vitals_from_pcd01, ("ORU", "R40"): alarms_from_pcd04}
)


def monitor_events_from_hl7(
    message: Message, *, local_zone: tzinfo = VIETNAM_TIME
) -> list[MonitorEvent]:
    """The vital signs or alarms of one monitor message; ``[]`` for waveforms and other types.

    Args:
        message: A parsed HL7 v2 message from a monitor, central station or gateway.
        local_zone: Zone of times without an offset when MSH-7 has none.
    """
    mapper = MAPPERS.get(message.message_type[:2])
    return list(mapper(message, local_zone=local_zone)) if mapper is not None else []
