"""IHE PCD-01 ORU^R01 from bedside monitors to canonical :class:`VitalSigns` (PROTOCOLS §7).

One VitalSigns per OBR group (a monitor's periodic snapshot, or one bed of a central station's
message), not one per observation time: NIBP and spot temperature are episodic (``^APERIODIC``)
and keep their own OBX-14 inside the snapshot, so splitting by time would scatter one report.
``measured_at`` is OBR-7, else MSH-7. Choices, each from a corpus sample:

- Observations are metrics (OBX-2 ``NM``) and coded observations of the patient (``CWE``,
  ``CNE``, ``CE``, ``CF``: a posture, a ventilator mode; ``reported.kind = "coded"``), with at
  most four OBX-4 levels (MDS.VMD.CHAN.METRIC; Comen writes three). Skipped: device hierarchy
  rows (empty OBX-2), coded rows that describe the device (:mod:`adapters.monitors.pcd_coded`:
  ``MDC_DEV_*``, ``MDC_ATTR_*``, time sync), waveforms (``NA``), clock rows (``DTM``), facets
  on a fifth level, and settings (OBX-17 ``ASET``, ``MSET``, ``RSET``), which are not
  measurements of the patient.
- ``local_code`` is OBX-3 as sent (``150456^MDC_PULS_OXIM_SAT_O2^MDC``, ``108^…^99MNDRY``);
  ``code`` is the MDC code when OBX-3 is in the MDC system, else ``None`` and ``unmapped``.
- Units become UCUM: MDC unit codes through ``mdc_codes.toml``, UCUM as sent, or the metric's
  default unit when OBX-6 is empty.
- A value the monitor could not measure is kept and flagged ``INVALID`` (as the lab path does):
  Mindray ``-999``/``-99.9``/``-100``, the IEEE 11073 NaN/NRes/INF numbers, an empty or
  non-numeric OBX-5, OBX-11 ``X`` (Philips Efficia) or an ``INV`` flag. It is never a number
  to chart, and dropping it would hide that the sensor is off.
- OBX-14 absent: the nearest containing row's OBX-14 (Continua times the NIBP group row).
- Schema 1.1: the value as sent (``reported``), OBX-4 (``sub_id``: two SpO2 channels ``1.3.1``
  and ``1.3.2`` stay apart), OBX-17 method and OBX-18 equipment.
- Nothing here logs: vitals carry patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from adapters.canonical.codes import CodedValue, Observation, ResultStatus
from adapters.canonical.events import VitalSigns
from adapters.hl7.message import NULL, Message, Segment
from adapters.hl7.obx_context import obx_equipment, obx_method, obx_sub_id
from adapters.hl7.tables import SENTINELS, STATUSES
from adapters.hl7.timestamps import VIETNAM_TIME
from adapters.hl7.values import CODED_TYPES, INVALID_FLAG, obx_reported, obx_value
from adapters.monitors.mdc import METRICS
from adapters.monitors.pcd_coded import describes_device
from adapters.monitors.pcd_groups import (
    LOCAL_SYSTEM,
    local_code,
    mdc_code,
    message_zone,
    obr_groups,
    obx_unit,
    path,
    text,
    time,
)

METRIC_TYPE = "NM"
MAX_METRIC_LEVELS = 4
SETTING_METHODS = frozenset({"ASET", "MSET", "RSET"})  # IHE PCD OBX-17: auto/manual/remote setting
MONITOR_SENTINELS = SENTINELS | {
    -100.0,  # Mindray
    2047.0,  # SFLOAT NaN written out as a number
    8388607.0,  # FLOAT NaN 0x7FFFFF
    -8388608.0,  # FLOAT NRes 0x800000
    8388606.0,  # FLOAT +INF
    -8388606.0,  # FLOAT -INF
}
INVALID_SOURCE_FLAGS = frozenset({"INV"})
INVALID_STATUSES = frozenset({"X"})  # OBX-11 "results cannot be obtained"


def vitals_from_pcd01(message: Message, *, local_zone: tzinfo = VIETNAM_TIME) -> list[VitalSigns]:
    """Vital signs of one ORU^R01, one event per OBR group with observations (``[]``: none).

    Args:
        message: A parsed PCD-01 ORU^R01 (the caller checked MSH-9).
        local_zone: Zone of times without an offset when MSH-7 has none (the monitor's clock).
    """
    zone = message_zone(message, local_zone)
    sent_at = time(message.msh, 7, zone)
    events = []
    for group in obr_groups(message):
        rows = [(obx, read) for obx in group.obx if (read := _reader(obx)) is not None]
        if not rows:
            continue
        times = {path(obx): t for obx in group.obx if (t := time(obx, 14, zone)) is not None}
        events.append(
            VitalSigns(
                patient=group.patient,
                bed=group.bed,
                measured_at=time(group.obr, 7, zone) or sent_at,
                observations=[read(obx, times, zone) for obx, read in rows],
            )
        )
    return events


Reader = Callable[[Segment, dict[tuple[str, ...], datetime], tzinfo], Observation]


def _reader(obx: Segment) -> Reader | None:
    """How to read a row as an observation of the patient, or ``None`` when it is not one."""
    if len(path(obx)) > MAX_METRIC_LEVELS or (text(obx, 17) or "").upper() in SETTING_METHODS:
        return None
    value_type = obx.text(2).strip().upper()
    if value_type == METRIC_TYPE:
        return _observation
    if value_type in CODED_TYPES and text(obx, 5) is not None:
        # a row without OBX-3.1 is judged by its reference id, and carried uncoded as numbers are
        named = local_code(obx) or CodedValue(
            code="", system=text(obx, 3, 3) or LOCAL_SYSTEM, display=text(obx, 3, 2)
        )
        return None if describes_device(named) else _coded_observation
    return None


def _coded_observation(
    obx: Segment, times: dict[tuple[str, ...], datetime], zone: tzinfo
) -> Observation:
    """A CWE/CNE/CE/CF row: ``value`` is its text (else its code), ``reported`` the code."""
    value_type = obx.text(2).strip().upper()
    local = local_code(obx) or CodedValue(code="", system=LOCAL_SYSTEM)
    code = mdc_code(local)
    reported, _ = obx_reported(obx, value_type)
    value = obx_value(obx, value_type)
    return Observation(
        local_code=local,
        code=code,
        value=value,
        unit=obx_unit(obx),
        flags=_source_flags(obx),
        status=STATUSES.get((text(obx, 11) or "").upper(), ResultStatus.UNKNOWN),
        observed_at=_observed_at(obx, times, zone),
        unmapped=code is None,
        reported=reported,
        sub_id=obx_sub_id(obx),
        method=obx_method(obx),
        equipment=obx_equipment(obx),
    )


def _source_flags(obx: Segment) -> list[str]:
    flags = [f for i in range(len(obx.repetitions(8))) if (f := obx.component(8, 1, rep=i))]
    return [f for f in flags if f != NULL]


def _observation(obx: Segment, times: dict[tuple[str, ...], datetime], zone: tzinfo) -> Observation:
    local = local_code(obx) or CodedValue(code="", system=LOCAL_SYSTEM)
    code = mdc_code(local)
    term = METRICS.get(local.code) if code is not None else None
    value = obx_value(obx, METRIC_TYPE)
    reported, _ = obx_reported(obx, METRIC_TYPE)  # IHE PCD numbers use a point: no comma flag
    flags = _source_flags(obx)
    status = (text(obx, 11) or "").upper()
    if (
        not isinstance(value, float)
        or value in MONITOR_SENTINELS
        or status in INVALID_STATUSES
        or INVALID_SOURCE_FLAGS & set(flags)
    ):
        flags.append(INVALID_FLAG)
    return Observation(
        local_code=local,
        code=code,
        value=value,
        unit=obx_unit(obx) or (term.unit if term is not None else None),
        flags=flags,
        status=STATUSES.get(status, ResultStatus.UNKNOWN),
        observed_at=_observed_at(obx, times, zone),
        unmapped=code is None,
        reported=reported,
        sub_id=obx_sub_id(obx),
        method=obx_method(obx),
        equipment=obx_equipment(obx),
    )


def _observed_at(
    obx: Segment, times: dict[tuple[str, ...], datetime], zone: tzinfo
) -> datetime | None:
    """OBX-14, else the time of the nearest containing row (``1.0.1`` times ``1.0.1.2``)."""
    levels = path(obx)
    own = time(obx, 14, zone)
    if own is not None:
        return own
    return next(
        (times[levels[:n]] for n in range(len(levels) - 1, 0, -1) if levels[:n] in times), None
    )
