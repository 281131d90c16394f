"""Session events to canonical :class:`VitalSigns` and :class:`Alarm`, shaped as the HL7 path.

Both monitor paths must give a consumer the same shape (``adapters/monitors/pcd01.py``,
``pcd04.py``): an :class:`Observation` per value with the device's own code as ``local_code``
(here the physio id, ``0x4BB8`` in system ``philips-intellivue``, named ``NOM_…``), the MDC code
as ``code``, a UCUM unit, ``bed`` from the monitor's bed label. Choices:

- A value the monitor marks as not patient data (state INVALID, UNAVAILABLE, CALIBRATION,
  TEST or DEMO data) or that is NaN/NRes/INF is kept, flagged ``INVALID`` as on the HL7 path;
  ``QUESTIONABLE`` is kept and flagged so; a numeric in alarm is flagged ``A``.
- Status is PRELIMINARY: real-time values, as OBX-11 ``R`` reads on the HL7 path.
- Times are the monitor's clock (no zone) read in ``local_zone``.
- Alarms: HI/MED/LOW priority from the alert type (technical and physiological alike); START
  when one appears, END when it leaves the list; the text is the monitor's own alarm string,
  else the source and event names. The source is a metric only when the alert code's lowest
  bit is 0 (SCADA partition source; Programming Guide, "Alert Monitor Object").
- Nothing here logs: both carry patient data.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType

from adapters.canonical.codes import Observation, ReportedValue, ResultStatus, ValueKind
from adapters.canonical.events import Alarm, AlarmPriority, AlarmState, VitalSigns
from adapters.hl7.timestamps import VIETNAM_TIME
from adapters.hl7.values import INVALID_FLAG
from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.codes import PHYSIO_IDS, metric, ucum
from adapters.monitors.intellivue.session_events import (
    AlarmChange,
    Alarms,
    NumericReading,
    Numerics,
)

QUESTIONABLE_FLAG = "QUESTIONABLE"
IN_ALARM_FLAG = "A"
PRIORITIES = MappingProxyType(
    {
        nom.HI_PRI_P_AL: AlarmPriority.HIGH,
        nom.HI_PRI_T_AL: AlarmPriority.HIGH,
        nom.MED_PRI_P_AL: AlarmPriority.MEDIUM,
        nom.MED_PRI_T_AL: AlarmPriority.MEDIUM,
        nom.LOW_PRI_P_AL: AlarmPriority.LOW,
        nom.LOW_PRI_T_AL: AlarmPriority.LOW,
    }
)
UNKNOWN_PRIORITY = AlarmPriority.HIGH  # as pcd04: an alarm of unknown urgency is not quieter
EVENT_NAMES = MappingProxyType(
    {nom.NOM_EVT_HI: "HIGH", nom.NOM_EVT_LO: "LOW", nom.NOM_EVT_DESAT: "DESAT"}
)


def vitals_from_numerics(numerics: Numerics, *, local_zone: tzinfo = VIETNAM_TIME) -> VitalSigns:
    return VitalSigns(
        bed=numerics.bed_label,
        measured_at=_aware(numerics.measured_at, local_zone),
        observations=[_observation(r, local_zone) for r in numerics.values],
    )


def _observation(reading: NumericReading, zone: tzinfo) -> Observation:
    codes = metric(reading.physio_id)
    flags = []
    if reading.value is None or reading.state & nom.NOT_PATIENT_DATA:
        flags.append(INVALID_FLAG)
    if reading.state & nom.QUESTIONABLE:
        flags.append(QUESTIONABLE_FLAG)
    if reading.state & nom.MSMT_STATE_IN_ALARM:
        flags.append(IN_ALARM_FLAG)
    return Observation(
        local_code=codes.local,
        code=codes.mdc,
        value=reading.value,
        unit=ucum(reading.unit_code),
        flags=flags,
        status=ResultStatus.PRELIMINARY,
        observed_at=_aware(reading.observed_at, zone),
        unmapped=codes.mdc is None,
        reported=_reported(reading.exact),
    )


def _reported(exact: Decimal | None) -> ReportedValue | None:
    """Data Export sends no text: the FLOAT-Type's own decimal (``8.60``) is what was stated."""
    if exact is None:
        return None
    return ReportedValue(text=str(exact), kind=ValueKind.NUMBER, decimal=exact)


def alarms_from_changes(alarms: Alarms, *, local_zone: tzinfo = VIETNAM_TIME) -> list[Alarm]:
    return [_alarm(change, alarms, local_zone) for change in alarms.changes]


def _alarm(change: AlarmChange, alarms: Alarms, zone: tzinfo) -> Alarm:
    entry = change.entry
    scada_source = not entry.code & 1
    source = metric(entry.source).mdc or metric(entry.source).local if scada_source else None
    name = PHYSIO_IDS.get(entry.source, (None, f"source 0x{entry.source:04X}"))[1]
    event = EVENT_NAMES.get(entry.code, f"alert 0x{entry.code:04X}")
    return Alarm(
        priority=PRIORITIES.get(entry.alert_type, UNKNOWN_PRIORITY),
        state=AlarmState.START if change.phase == "start" else AlarmState.END,
        text=entry.text or f"{name if scada_source else 'device'} {event}",
        source=source,
        bed=alarms.bed_label,
        raised_at=_aware(alarms.measured_at, zone),
    )


def _aware(when: datetime | None, zone: tzinfo) -> datetime | None:
    return when.replace(tzinfo=zone) if when is not None else None
