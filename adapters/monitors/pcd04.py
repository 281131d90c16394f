"""IHE PCD-04 ORU^R40 alarms to canonical :class:`Alarm` events (PROTOCOLS §8).

One Alarm per OBR group (``OBR-4 196616^MDC_EVT_ALARM``), read from the rows of that group:

- Attribute rows are told apart by OBX-3 (IHE 68481-68485/68546, GE Mural 68164-68167 for the
  same roles, see ``mdc_codes.toml``). The event row is the first other row that is not a number
  (``MDC_EVT_HI`` …, GE ``MDCX_EVT_ALERT_ADVISORY``); the source row is the first other ``NM``
  row (the metric that alarmed, its value, unit, and limits in OBX-7).
- Priority: the priority row, else ``PH``/``PM``/``PL``/``PN`` among the OBX-8 flags
  (``A~PM~SA``). ``PN`` (no priority) is LOW; none at all is HIGH: an alarm of unknown urgency
  must not be quieter than it may be.
- State: the event phase (``start``, ``update``, ``end`` …), overridden to END when the alarm
  state says ``inactive``; CONTINUE when neither says otherwise. The inactivation state
  (``audio-paused``, ``alert-acknowledged`` …) describes the signal, not the condition, and does
  not change the state.
- Text: the alert text row, else the event row's value, else its name. ``source`` is the metric
  code; advisory and technical alerts (GE's recheck advisory) have no metric and no source.
- A heartbeat (``196614 MDC_EVT_ACTIVE``, PROTOCOLS §8) is not an alarm and gives nothing.
- ``limit``: the bound of the OBX-7 range the flags point at (``H`` upper, ``L`` lower), else
  OBX-7 as sent.
- Schema 1.1, where the alarming source is (the source row, else the event row): ``sub_id`` is
  its OBX-4 as sent (``1.3.2.150456.2``: MDS.VMD.CHAN.METRIC of the alarming metric, then the
  row's number within the alarm, so two SpO2 channels' alarms stay apart), ``equipment`` its
  OBX-18 (GE Mural names the system, ``GE_Mural_DH_NM``), else the OBX-18 of the group's device
  hierarchy rows (the MDS row names the monitor).
- Nothing here logs: alarms carry patient data.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from types import MappingProxyType

from adapters.canonical.events import Alarm, AlarmPriority, AlarmState
from adapters.hl7.message import Message, Segment
from adapters.hl7.obx_context import obx_equipment, obx_sub_id
from adapters.hl7.timestamps import VIETNAM_TIME
from adapters.hl7.values import obx_reported, obx_value
from adapters.monitors.mdc import ALARM_ATTRIBUTES, AlarmRole
from adapters.monitors.pcd_groups import (
    ObrGroup,
    local_code,
    mdc_code,
    message_zone,
    obr_groups,
    obx_unit,
    text,
    time,
)

PRIORITIES = MappingProxyType(
    {
        "PH": AlarmPriority.HIGH,
        "PM": AlarmPriority.MEDIUM,
        "PL": AlarmPriority.LOW,
        "PN": AlarmPriority.LOW,
    }
)
UNKNOWN_PRIORITY = AlarmPriority.HIGH
PHASES = MappingProxyType(
    {
        "start": AlarmState.START,
        "start_only": AlarmState.START,
        "continue": AlarmState.CONTINUE,
        "present": AlarmState.CONTINUE,
        "update": AlarmState.CONTINUE,
        "escalate": AlarmState.CONTINUE,
        "deescalate": AlarmState.CONTINUE,
        "inactivate": AlarmState.CONTINUE,  # the signal is silenced; the condition persists
        "end": AlarmState.END,
        "reset": AlarmState.END,
    }
)
ENDED_ALARM_STATES = frozenset({"inactive"})
NOT_ALARM_EVENTS = frozenset({"196614"})  # MDC_EVT_ACTIVE heartbeat
NUMBER_TYPE = "NM"
UPPER_FLAGS = frozenset({"H", "HH", ">"})
LOWER_FLAGS = frozenset({"L", "LL", "<"})
DEFAULT_TEXT = "alarm"


def alarms_from_pcd04(message: Message, *, local_zone: tzinfo = VIETNAM_TIME) -> list[Alarm]:
    """Alarms of one ORU^R40, one per OBR group that describes an alarm.

    Args:
        message: A parsed PCD-04 ORU^R40 (the caller checked MSH-9).
        local_zone: Zone of times without an offset when MSH-7 has none.
    """
    zone = message_zone(message, local_zone)
    sent_at = time(message.msh, 7, zone)
    alarms = []
    for group in obr_groups(message):
        alarm = _alarm(group, zone, sent_at)
        if alarm is not None:
            alarms.append(alarm)
    return alarms


def _alarm(group: ObrGroup, zone: tzinfo, sent_at: datetime | None) -> Alarm | None:
    attributes: dict[AlarmRole, str] = {}
    event: Segment | None = None
    source: Segment | None = None
    flags: list[str] = []
    hierarchy: list[Segment] = []
    for obx in group.obx:
        if not obx.text(2).strip():
            hierarchy.append(obx)  # a device hierarchy row: names the device, not the alarm
            continue
        flags += [obx.component(8, 1, rep=i).strip() for i in range(len(obx.repetitions(8)))]
        role = ALARM_ATTRIBUTES.get(obx.component(3, 1).strip())
        if role is not None:
            attributes.setdefault(role, str(obx_value(obx, obx.text(2).strip().upper()) or ""))
        elif obx.text(2).strip().upper() == NUMBER_TYPE:
            source = source or obx
        else:
            event = event or obx
    if (event is None and source is None and not attributes) or _is_heartbeat(group, event):
        return None
    local = local_code(source) if source is not None else None
    value = obx_value(source, NUMBER_TYPE) if source is not None else None
    reported = obx_reported(source, NUMBER_TYPE)[0] if source is not None else None
    return Alarm(
        priority=_priority(attributes.get("priority"), flags),
        state=_state(attributes.get("phase", ""), attributes.get("state", "")),
        text=_text(attributes.get("text"), event),
        source=(mdc_code(local) or local) if local is not None else None,
        value=value,
        limit=_limit(source, flags) if source is not None else None,
        unit=obx_unit(source) if source is not None else None,
        patient=group.patient,
        bed=group.bed,
        raised_at=time(event, 14, zone) or time(group.obr, 7, zone) or sent_at,
        reported=reported,
        sub_id=next((sub for obx in (source, event) if obx and (sub := obx_sub_id(obx))), None),
        equipment=next(
            (e for obx in (source, event, *hierarchy) if obx and (e := obx_equipment(obx))), None
        ),
    )


def _is_heartbeat(group: ObrGroup, event: Segment | None) -> bool:
    codes = {text(group.obr, 4), text(event, 3), text(event, 5)}
    return not NOT_ALARM_EVENTS.isdisjoint(codes)


def _priority(value: str | None, flags: list[str]) -> AlarmPriority:
    for candidate in (value or "", *flags):
        priority = PRIORITIES.get(candidate.strip().upper())
        if priority is not None:
            return priority
    return UNKNOWN_PRIORITY


def _state(phase: str, alarm_state: str) -> AlarmState:
    if alarm_state.strip().lower() in ENDED_ALARM_STATES:
        return AlarmState.END
    return PHASES.get(phase.strip().lower(), AlarmState.CONTINUE)


def _text(alert_text: str | None, event: Segment | None) -> str:
    if alert_text:
        return alert_text
    if event is not None:
        value = obx_value(event, event.text(2).strip().upper())
        if value is not None:
            return str(value)
        code = local_code(event)
        if code is not None:
            return code.display or code.code
    return DEFAULT_TEXT


def _limit(source: Segment, flags: list[str]) -> float | str | None:
    """The bound of OBX-7 ``low-high`` the abnormal flag points at, else OBX-7 as sent."""
    limits = text(source, 7)
    if limits is None:
        return None
    low, sep, high = limits.rpartition("-") if limits.count("-") == 1 else ("", "", "")
    bound = high if UPPER_FLAGS & set(flags) else low if LOWER_FLAGS & set(flags) else ""
    try:
        return float(bound) if sep and bound.strip() else limits
    except ValueError:
        return limits
