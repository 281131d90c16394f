"""ASTM E1394 results to :class:`LabResult` / :class:`QcResult` events, as the HL7 path does.

One LabResult per O record with its R records; the raw message is kept by the caller, so this
mapping may drop what is not a result (M records: reagent lots, histograms). Where the dialect
(:mod:`adapters.astm.dialect`) says a vendor differs, its data decides; the rest is E1394:

- Specimen id: the dialect's O fields, best first (O-3, else O-4 by default). An O without R is
  an order, not a result, and is skipped, unless O-26 says ``X`` (cannot be done): the lab must
  see that a test failed even when no value came.
- Field positions: E1394's unless the dialect's ``patient_fields``/``order_fields``/
  ``result_fields`` move them (one analyzer sends the patient's name, birth date and sex in
  P-7, P-9, P-10).
- Local code: the dialect's R-3 component, cut at ``code_suffix_separator``; a qualifier other
  than ``F`` (ARCHITECT interpretation/RLU rows) gives ``"<code> [<qualifier>]"`` so each row
  maps on its own code-map row; no code at all is forwarded flagged ``NO_CODE``
  (:mod:`adapters.lis_analyzers.no_code`). LOINC from the dialect's R-3 component (Horiba),
  else the map.
- Values (R-4): the only non-empty component (Phadia ``9.34^^^^``, GeneXpert ``^1234.56``) as a
  float when it is a plain number, else text (``<20``, ``> 15000.00``, ``Dương tính``);
  several components stay text joined with ``^`` (reaction grades ``3+^3+^45``), repeats with
  ``~``; ``reported`` keeps the text and an exact Decimal (ADR 0014). Units (R-5) through
  the dialect's unit map, then UCUM spelling. A reference range (R-6) drops its label
  component (``REFERENCE_RANGE``) and joins a low^high pair with ``-``.
- Flags (R-7): every component of every repeat (``EXP^HIGH``), mapped by the dialect.
- Status: R-9 per dialect; the LabResult's is O-26, else its least settled live result.
- Times: R-13 (completed), else R-12 (started); collection O-8, report O-23; no offset in ASTM,
  so ``local_zone`` (Vietnam, UTC+7) applies; dialect placeholder dates are no date.
- Comments: C records after the O, then after each R prefixed ``"<local code>: "``.
- QC and calibration (standard H-12/O-12 ``Q`` plus dialect rules) become a :class:`QcResult`
  without the patient, with the control, lot and level where the dialect's ``qc`` says
  (:mod:`adapters.lis_analyzers.qc` decides, on the safe side).
- Patient (P) and analyzer (H-5) per the dialect: :mod:`adapters.lis_analyzers.astm_identity`.
  Nothing here logs: results carry PHI.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from adapters.astm.dialect import Dialect, FieldRef, RoleRule
from adapters.astm.records import AstmMessage, Node, Record
from adapters.canonical.codes import CodedValue, DeviceIdentity, Observation, ResultStatus
from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.tables import GROUP_STATUS_PRECEDENCE
from adapters.hl7.timestamps import VIETNAM_TIME, parse_ts
from adapters.lis_analyzers.astm_context import (
    o_rack_position,
    r_instrument,
    r_reported,
    r_value_text,
)
from adapters.lis_analyzers.astm_identity import analyzer_identity, is_placeholder_date, patient_ref
from adapters.lis_analyzers.no_code import no_code_flags
from adapters.lis_analyzers.qc import Mark, mark_from_match, routed, verdict
from adapters.units import to_ucum

RANGE_LABELS = frozenset({"REFERENCE_RANGE", "TITERRANGES"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def lab_results_from_astm(
    message: AstmMessage,
    code_map: CodeMap,
    source: str,
    dialect: Dialect,
    *,
    local_zone: tzinfo = VIETNAM_TIME,
    decimal_comma: bool = False,
) -> list[LabResult | QcResult]:
    """Results of one message; ``[]`` for a query, an order download or a keep-alive.

    Args:
        message: A parsed E1394 message.
        code_map: Local codes to hospital codes and LOINC.
        source: The analyzer or dialect id the code map rows are keyed by.
        dialect: Where this analyzer puts what E1394 leaves open.
        local_zone: The analyzer clock's zone (ASTM times carry no offset).
        decimal_comma: The analyzer writes ``7,41`` (device option; the dialect may say so too).
    """
    header = message.header.record
    context = _Context(
        code_map,
        source,
        dialect,
        local_zone,
        _marks(header, dialect.role_rules),
        decimal_comma or dialect.decimal_comma,
    )
    analyzer = analyzer_identity(header, dialect)
    results = []
    for patient, order in message.orders():
        result = _lab_result(patient.record, order, analyzer, context)
        if result is not None:
            results.append(result)
    return results


@dataclass(frozen=True, slots=True)
class _Context:
    code_map: CodeMap
    source: str
    dialect: Dialect
    zone: tzinfo
    message_marks: list[Mark]
    decimal_comma: bool = False


def _lab_result(
    patient: Record, order: Node, analyzer: DeviceIdentity | None, context: _Context
) -> LabResult | QcResult | None:
    o = order.record
    fields = context.dialect.order_fields
    report = context.dialect.status(o.text(fields.report_type))
    observations = [_observation(r.record, context) for r in order.children]
    if not observations and report is not ResultStatus.CANCELLED:
        return None
    comments = [text for c in order.comments if (text := _comment(c))]
    comments += [
        f"{observation.local_code.code}: {text}"
        for node, observation in zip(order.children, observations, strict=True)
        for c in node.comments
        if (text := _comment(c))
    ]
    rack, position = o_rack_position(o, context.dialect)
    result = LabResult(
        specimen_id=next(
            (
                s
                for ref in context.dialect.specimen_id
                if (s := o.component(ref.field, ref.component).strip())
            ),
            None,
        ),
        patient=patient_ref(patient, context.dialect),
        ordered_tests=[
            t
            for rep in range(len(o.repeats(fields.tests)))
            if (t := _test(o, fields.tests, context.dialect, rep))
        ],
        observations=observations,
        analyzer=analyzer,
        status=report if report is not ResultStatus.UNKNOWN else _settled(observations),
        collected_at=_time(o, fields.collected_at, context),
        resulted_at=_time(o, fields.reported_at, context),
        comments=comments,
        rack=rack,
        position=position,
    )
    qc = context.dialect.qc
    return routed(
        result,
        verdict(context.message_marks + _marks(o, context.dialect.role_rules)),
        control=_first(o, qc.control),
        lot=_first(o, qc.lot),
        level=_first(o, qc.level),
    )


def _observation(r: Record, context: _Context) -> Observation:
    dialect = context.dialect
    at = dialect.result_fields
    local = _test(r, at.test, dialect, qualified=True) or CodedValue(code="", system="local")
    loinc_text = (
        r.component(at.test, dialect.loinc_component).strip() if dialect.loinc_component else ""
    )
    loinc = CodedValue(code=loinc_text, system="LOINC") if loinc_text else None
    entry = context.code_map.lookup(context.source, local.code, dialect=context.dialect.name)
    if loinc is None and entry is not None and entry.loinc is not None:
        loinc = CodedValue(code=entry.loinc, system="LOINC", display=entry.loinc_name)
    hospital = None
    if entry is not None and entry.hospital_code is not None:
        hospital = CodedValue(
            code=entry.hospital_code, system="hospital", display=entry.hospital_name
        )
    unit = r.text(at.unit)
    reported, reading_flags = r_reported(r, at.value, decimal_comma=context.decimal_comma)
    return Observation(
        local_code=local,
        code=loinc,
        hospital_code=hospital,
        value=_value(r, at.value),
        unit=(dialect.unit_map.get(unit) or to_ucum(unit)) if unit else None,
        reference_range=_range(r, at.reference_range),
        flags=[
            dialect.flag_map.get(flag, flag)
            for rep in range(len(r.repeats(at.flags)))
            for c in r.components(at.flags, rep=rep)
            if (flag := c.strip())
        ]
        + no_code_flags(local.code)
        + reading_flags,
        status=dialect.status(r.text(at.status)),
        observed_at=_time(r, at.completed_at, context) or _time(r, at.started_at, context),
        unmapped=loinc is None and entry is None,
        reported=reported,
        national_code=entry.national if entry is not None else None,
        equipment=r_instrument(r, at.instrument),
    )


def _test(
    record: Record, n: int, dialect: Dialect, rep: int = 0, *, qualified: bool = False
) -> CodedValue | None:
    """The local test code of R-3 (``qualified``) or of one O-5 repeat, per the dialect."""
    components = record.components(n, rep=rep)

    def part(c: int | None) -> str:
        if not c:
            return ""
        return components[c if c < 0 else c - 1].strip() if abs(c) <= len(components) else ""

    code = next((text for c in dialect.test_code_components if (text := part(c))), "")
    if dialect.code_suffix_separator:
        code = code.split(dialect.code_suffix_separator, 1)[0]
    if not code:
        return None
    qualifier = part(dialect.test_qualifier_component) if qualified else ""
    if qualifier and qualifier not in dialect.plain_qualifiers:
        code = f"{code} [{qualifier}]"
    return CodedValue(code=code, system="local", display=part(dialect.test_name_component) or None)


def _value(r: Record, n: int) -> str | float | None:
    """Schema 1.0's ``value``: a float for a plain number (``reported`` keeps the digits)."""
    text, _ = r_value_text(r, n)
    if _NUMBER.fullmatch(text) and math.isfinite(number := float(text)):
        return number  # an overflow to inf would go out as JSON null: kept as text instead
    return text or None


def _range(r: Record, n: int) -> str | None:
    parts = [p for c in r.components(n) if (p := c.strip()) and p.upper() not in RANGE_LABELS]
    return ("-" if len(parts) == 2 else "^").join(parts) or None


def _comment(c: Record) -> str:
    """C-4 text: components joined with spaces, repeats (Horiba's alarm list) with ``; ``."""
    return "; ".join(
        text
        for rep in range(len(c.repeats(4)))
        if (text := " ".join(p for part in c.components(4, rep=rep) if (p := part.strip())))
    )


def _settled(observations: list[Observation]) -> ResultStatus:
    """Without O-26, a specimen is as settled as its least settled live result."""
    statuses = {o.status for o in observations}
    live = statuses - {ResultStatus.CANCELLED} or statuses
    return next((s for s in GROUP_STATUS_PRECEDENCE if s in live), ResultStatus.UNKNOWN)


def _marks(record: Record, rules: tuple[RoleRule, ...]) -> list[Mark]:
    """What this H or O record says about the specimen, per the dialect's and E1394's rules."""
    marks = []
    for rule in rules:
        if rule.record != record.type:
            continue
        text = record.component(rule.field, rule.component).strip()
        if text and (found := rule.search(text)):
            where = f"{rule.record}-{rule.field}" + (
                f".{rule.component}" if rule.component > 1 else ""
            )
            marks.append(mark_from_match(rule.role, f"{where}={text}", found, weak=False))
    return marks


def _first(o: Record, places: tuple[FieldRef, ...]) -> str | None:
    return next((t for ref in places if (t := o.component(ref.field, ref.component).strip())), None)


def _time(record: Record, n: int, context: _Context) -> datetime | None:
    text = record.text(n)
    if not text or is_placeholder_date(text, context.dialect):
        return None
    return parse_ts(text, context.zone)
