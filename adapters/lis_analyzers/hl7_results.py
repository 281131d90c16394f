"""HL7 v2 lab results (ORU^R01, IHE LAW OUL^R22, OUL^R24) to :class:`LabResult` / :class:`QcResult`.

One event per OBR group that has result OBX segments; the raw message is kept by the caller,
so this mapping may drop what is not a result. Vendor quirks are the dialect's data
(:mod:`adapters.hl7.dialect`); choices, each from a corpus sample (PROTOCOLS §6):

- Specimen id: SPM-2 when the group has an SPM (it names the specimen; Boditech fills OBR-3 with
  ``0``), else SAC-3 (the tube barcode: Alinity m sends no SPM-2), else the dialect's OBR fields
  (OBR-3 then OBR-2: Mindray BC puts its sample id in OBR-3; Mindray BS its barcode in OBR-2).
- A control, calibrator or any specimen that is not a patient's (SPM-11, SPM-4, the container's
  INV, the dialect's marks: :mod:`adapters.lis_analyzers.hl7_qc`) becomes a :class:`QcResult`
  without the message's patient, never a LabResult. A dialect may read QC sent in OBR alone
  (Mindray BS, no OBX).
- Not results, skipped: OBX-2 ``ED``/``NA``/``MA``/``RP`` (images, waveforms, pointers). IHE LAW
  supplemental OBX (OBX-3.4 ``S_OTHER``: pipetting time, QC target…) become comments
  ``"<name>: <value> <unit>"``.
- Values: NM becomes a float when it parses (else the text, e.g. ``+``); SN ``<^20`` becomes
  ``<20``; CE/CWE give their text, else their code; other types (ST, TX, DTM…) stay text even
  when numeric (Boditech types numbers TX), which keeps the device's digits. Repetitions are
  joined with ``~``. Empty or ``""`` is ``None``. NM ``-999``/``-99.9`` (Mindray "no value"
  sentinels) are kept and flagged ``INVALID``. That is schema 1.0's ``value``; ``reported``
  keeps the text and an exact Decimal (ADR 0014), with OBX-4, OBX-17 and OBX-18 beside it.
- An OBX without a value is kept (Mindray BC lists parameters it did not measure) unless its
  code repeats one of its group (LAW's empty CE companion), which would only blank the number.
- An OBX with an empty OBX-3 continues the previous one in other units (Boditech: HbA1c in % then
  mmol/mol then mg/dL): its local code is ``"<previous code> [<unit>]"``, which the hospital maps
  on its own row; reusing the previous code would give the % LOINC to a mg/dL value.
- Rack and position: SAC-10 carrier and SAC-11 position in it (IHE LAW).
- Times: OBX-14, else OBX-19 (LAW analysis time). A time without an offset is in the sender's
  zone: the offset of MSH-7 when it has one, else ``local_zone`` (default Vietnam, UTC+7).
- The analyzer is LAW's OBX-18 equipment instance (``model^maker~serial^maker``) of the group's
  first OBX when sent, else MSH-3 (as model) and MSH-4 (as manufacturer) as sent.
- Nothing here logs: results carry patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from adapters.canonical.codes import (
    CodedValue,
    DeviceIdentity,
    Observation,
    ResultStatus,
)
from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.dialect import Hl7Dialect, load_hl7_dialect
from adapters.hl7.fields import leaf
from adapters.hl7.message import NULL, Message, Segment
from adapters.hl7.obx_context import obx_equipment, obx_method, obx_sub_id
from adapters.hl7.tables import (
    GROUP_STATUS_PRECEDENCE,
    NOT_RESULT_TYPES,
    SENTINELS,
    STATUSES,
    SUPPLEMENTAL,
)
from adapters.hl7.timestamps import VIETNAM_TIME, parse_ts, ts_zone
from adapters.hl7.values import INVALID_FLAG, obx_reported, obx_value
from adapters.lis_analyzers.hl7_groups import Group, groups_of
from adapters.lis_analyzers.hl7_qc import (
    group_verdict,
    obr_qc_comments,
    obr_qc_observation,
    qc_details,
)
from adapters.lis_analyzers.no_code import no_code_flags
from adapters.lis_analyzers.qc import routed
from adapters.units import to_ucum

HANDLED_TYPES = frozenset({("ORU", "R01"), ("OUL", "R22"), ("OUL", "R24")})


def lab_results_from_hl7(
    message: Message,
    code_map: CodeMap,
    source: str,
    *,
    dialect: Hl7Dialect | None = None,
    local_zone: tzinfo = VIETNAM_TIME,
    decimal_comma: bool = False,
) -> list[LabResult | QcResult]:
    """Results of one message; ``[]`` for a message type not handled here (caller rejects).

    Args:
        message: A parsed HL7 v2 message.
        code_map: Local codes to hospital codes and LOINC.
        source: The analyzer or dialect id the code map rows are keyed by.
        dialect: The sender's quirks (default: ``generic``); named in each event's analyzer.
        local_zone: The sender's zone for times without an offset when MSH-7 has none either.
        decimal_comma: The analyzer writes ``7,41`` for 7.41 (device option ``decimal_comma``).
    """
    if message.message_type[:2] not in HANDLED_TYPES:
        return []
    dialect = dialect or load_hl7_dialect("generic")
    zone = ts_zone(message.msh.text(7)) or local_zone
    context = _Context(
        code_map, source, zone, _device(message.msh, dialect), dialect, message.msh, decimal_comma
    )
    results = []
    for group in groups_of(message):
        result = _result(group, context)
        if result is not None:
            results.append(result)
    return results


@dataclass(frozen=True, slots=True)
class _Context:
    code_map: CodeMap
    source: str
    zone: tzinfo
    device: DeviceIdentity
    dialect: Hl7Dialect
    msh: Segment
    decimal_comma: bool = False


def _result(group: Group, context: _Context) -> LabResult | QcResult | None:
    found = group_verdict(context.msh, group.scope, context.dialect)
    result = _lab_result(group, context)
    if result is None and found.role is not None:
        result = _obr_qc_result(group, context)
    if result is None or found.role is None:
        return result
    control, lot, level = qc_details(context.msh, group.scope, context.dialect)
    return routed(result, found, control=control, lot=lot, level=level)


def _lab_result(group: Group, context: _Context) -> LabResult | None:
    observations: list[Observation] = []
    comments: list[str] = []
    previous: CodedValue | None = None
    for obx in group.obx:
        value_type = obx.text(2).strip().upper()
        if value_type in NOT_RESULT_TYPES:
            continue
        if obx.component(3, 4) == SUPPLEMENTAL:
            comments.append(_supplemental(obx))
            continue
        observation = _observation(obx, value_type, previous, context)
        if obx.component(3, 1):
            previous = observation.local_code
        if observation.value is None and any(
            o.local_code == observation.local_code for o in observations
        ):
            continue  # an empty companion (LAW's CE after the number) adds nothing
        observations.append(observation)
    if not observations:
        return None
    return _lab_result_of(group, context, observations, comments)


def _obr_qc_result(group: Group, context: _Context) -> LabResult | None:
    """QC a dialect sends in OBR alone (Mindray BS); routed to a QcResult by the caller."""
    observation = obr_qc_observation(
        group.obr, context.dialect, context.zone, decimal_comma=context.decimal_comma
    )
    if observation is None:
        return None
    comments = obr_qc_comments(group.obr, context.dialect)
    return _lab_result_of(group, context, [observation], comments, obr_qc=True)


def _lab_result_of(
    group: Group,
    context: _Context,
    observations: list[Observation],
    comments: list[str],
    *,
    obr_qc: bool = False,
) -> LabResult:
    """``obr_qc``: OBR holds QC fields (test number, control), not an order or a specimen."""
    obr = group.obr
    statuses = {o.status for o in observations}
    live = statuses - {ResultStatus.CANCELLED} or statuses
    test = None if obr_qc else _coded(obr, 4, "local")
    return LabResult(
        specimen_id=None if obr_qc else _specimen_id(group, context.dialect.obr_specimen_fields),
        patient=group.patient,
        ordered_tests=[test] if test is not None else [],
        observations=observations,
        analyzer=_analyzer(context.device, group.obx[0] if group.obx else None),
        status=STATUSES.get((leaf(obr, 25) or "").upper())
        or next(s for s in GROUP_STATUS_PRECEDENCE if s in live),
        collected_at=_time(obr, 7, context.zone) or _time(group.spm, 17, context.zone),
        resulted_at=_time(obr, 22, context.zone),
        comments=comments,
        rack=group.carrier[0],
        position=group.carrier[1],
    )


def _observation(
    obx: Segment, value_type: str, previous: CodedValue | None, context: _Context
) -> Observation:
    unit = _unit(obx)
    local = _coded(obx, 3, "local")
    if local is None:  # a continuation of the previous OBX in other units (Boditech)
        base = previous.code if previous is not None else ""
        # Without a previous OBX there is nothing to continue: no code, flagged below.
        local = CodedValue(code=f"{base} [{unit}]" if unit and base else base, system="local")
    loinc = next(
        (
            CodedValue(code=code, system="LOINC", display=obx.component(3, c + 1) or None)
            for c in (1, 4)
            if obx.component(3, c + 2) == "LN" and (code := obx.component(3, c))
        ),
        None,
    )
    entry = context.code_map.lookup(context.source, local.code, dialect=context.dialect.name)
    if loinc is None and entry is not None and entry.loinc is not None:
        loinc = CodedValue(code=entry.loinc, system="LOINC", display=entry.loinc_name)
    hospital = None
    if entry is not None and entry.hospital_code is not None:
        hospital = CodedValue(
            code=entry.hospital_code, system="hospital", display=entry.hospital_name
        )
    value = obx_value(obx, value_type)
    reported, reading_flags = obx_reported(obx, value_type, decimal_comma=context.decimal_comma)
    flags = [f for i in range(len(obx.repetitions(8))) if (f := obx.component(8, 1, rep=i))]
    flags = [f for f in flags if f != NULL] + no_code_flags(local.code) + reading_flags
    if value_type == "NM" and isinstance(value, float) and value in SENTINELS:
        flags.append(INVALID_FLAG)
    return Observation(
        local_code=local,
        code=loinc,
        hospital_code=hospital,
        value=value,
        unit=unit,
        reference_range=leaf(obx, 7),
        flags=flags,
        status=STATUSES.get((leaf(obx, 11) or "").upper(), ResultStatus.UNKNOWN),
        observed_at=_time(obx, 14, context.zone) or _time(obx, 19, context.zone),
        unmapped=loinc is None and entry is None,
        reported=reported,
        national_code=entry.national if entry is not None else None,
        sub_id=obx_sub_id(obx),
        method=obx_method(obx),
        equipment=obx_equipment(obx),
    )


def _supplemental(obx: Segment) -> str:
    name = obx.component(3, 2) or obx.component(3, 1)
    unit = _unit(obx)
    return f"{name}: {obx_value(obx, 'ST')}" + (f" {unit}" if unit else "")


def _unit(obx: Segment) -> str | None:
    unit = (obx.component(6, 1) or obx.component(6, 2)).strip()
    return to_ucum(unit) if unit and unit != NULL else None


def _specimen_id(group: Group, obr_fields: tuple[int, ...]) -> str | None:
    candidates = [
        leaf(group.spm, 2, 1, 1),
        leaf(group.spm, 2, 2, 1),
        leaf(group.sac, 3),
        *(leaf(group.obr, n) for n in obr_fields),
    ]
    return next((c for c in candidates if c is not None), None)


def _device(msh: Segment, dialect: Hl7Dialect) -> DeviceIdentity:
    return DeviceIdentity(model=leaf(msh, 3), manufacturer=leaf(msh, 4), dialect=dialect.name)


def _analyzer(device: DeviceIdentity, obx: Segment | None) -> DeviceIdentity:
    """OBX-18 (the unit that measured: LAW ``model^maker~serial^maker``) when sent, else MSH."""
    if leaf(obx, 18) is not None:
        device = DeviceIdentity(
            model=leaf(obx, 18),
            manufacturer=leaf(obx, 18, 2),
            serial=leaf(obx, 18, rep=1),
            dialect=device.dialect,
        )
    return device


def _coded(segment: Segment, n: int, default_system: str) -> CodedValue | None:
    code = leaf(segment, n)
    if code is None:
        return None
    return CodedValue(
        code=code,
        system=leaf(segment, n, 3) or default_system,
        display=leaf(segment, n, 2),
    )


def _time(segment: Segment | None, n: int, zone: tzinfo) -> datetime | None:
    text = leaf(segment, n)
    return parse_ts(text, zone) if text is not None else None
