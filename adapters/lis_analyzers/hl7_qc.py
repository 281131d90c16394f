"""Where an HL7 lab message says a specimen is a control: the dialect's places, read as marks.

The segments a group is judged by are MSH, its specimen block (SPM with the SAC and INV that
follow it before any OBR: LAW's container and control material), its OBR and its ORC. Reagent
INV segments after OBX (Alinity's calibrator and reagent lots) describe the run, not the
specimen, so they never make a patient's result a control.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import tzinfo

from adapters.canonical.codes import CodedValue, Observation
from adapters.canonical.numbers import read_value
from adapters.hl7.dialect import TEST_MESSAGE_ROLES, Hl7Dialect, Place
from adapters.hl7.fields import leaf
from adapters.hl7.message import NULL, Segment
from adapters.hl7.timestamps import parse_ts
from adapters.lis_analyzers.qc import Mark, Verdict, mark_from_match, verdict
from adapters.units import to_ucum


def group_verdict(msh: Segment, scope: Sequence[Segment], dialect: Hl7Dialect) -> Verdict:
    """Patient or not for one OBR group, from ``scope`` (its segments) and MSH."""
    marks: list[Mark] = []
    by_name: dict[str, list[Segment]] = {"MSH": [msh]}
    for segment in scope:
        by_name.setdefault(segment.name, []).append(segment)
    texts: dict[tuple[int, int, int, int], str] = {}  # several rules read the same leaf
    for rule in dialect.qc_rules:
        for segment in by_name.get(rule.segment, ()):
            key = (id(segment), rule.field, rule.component, rule.subcomponent)
            text = texts.get(key)
            if text is None:
                text = texts[key] = segment.component(
                    rule.field, rule.component, sub=rule.subcomponent
                ).strip()
            if text in ("", NULL):
                continue
            read = rule.read(text)
            if read is not None:
                role, found = read
                evidence = f"{rule.label}={text}"
                marks.append(
                    mark_from_match(role, evidence, found) if found else Mark(role, evidence)
                )
    processing = msh.text(11).strip().upper()
    if dialect.processing_id != "ignored" and processing in TEST_MESSAGE_ROLES:
        weak = dialect.processing_id == "unknown"
        marks.append(Mark(TEST_MESSAGE_ROLES[processing], f"MSH-11={processing}", weak))
    return verdict(marks)


def qc_details(
    msh: Segment, scope: Sequence[Segment], dialect: Hl7Dialect
) -> tuple[str | None, str | None, str | None]:
    """(control, lot, level) from the dialect's places, first found each."""
    return (
        _first(dialect.control, msh, scope),
        _first(dialect.lot, msh, scope),
        _first(dialect.level, msh, scope),
    )


def obr_qc_observation(
    obr: Segment, dialect: Hl7Dialect, zone: tzinfo, *, decimal_comma: bool = False
) -> Observation | None:
    """The one QC value a dialect puts in OBR fields (no OBX), or ``None`` when absent.

    Its ``reported`` keeps the text and an exact Decimal as every other value (ADR 0014).
    """
    layout = dialect.obr_qc
    if layout is None:
        return None
    code, text = leaf(obr, layout.test), leaf(obr, layout.value)
    if code is None or text is None:
        return None
    unit = leaf(obr, layout.unit) if layout.unit else None
    when = leaf(obr, layout.observed_at) if layout.observed_at else None
    reported, reading_flags = read_value(text, decimal_comma=decimal_comma)
    return Observation(
        local_code=CodedValue(
            code=code,
            system="local",
            display=leaf(obr, layout.test_name) if layout.test_name else None,
        ),
        value=_number_or_text(text),
        unit=to_ucum(unit) if unit else None,
        observed_at=parse_ts(when, zone) if when else None,
        unmapped=True,
        flags=reading_flags,
        reported=reported,
    )


def obr_qc_comments(obr: Segment, dialect: Hl7Dialect) -> list[str]:
    """The control's targets (mean, SD…) the dialect reads from OBR, as ``"<name>: <text>"``."""
    layout = dialect.obr_qc
    if layout is None:
        return []
    return [f"{name}: {text}" for name, n in layout.targets.items() if (text := leaf(obr, n))]


def _named(name: str, msh: Segment, scope: Sequence[Segment]) -> list[Segment]:
    return [msh] if name == "MSH" else [s for s in scope if s.name == name]


def _first(places: Sequence[Place], msh: Segment, scope: Sequence[Segment]) -> str | None:
    for place in places:
        for segment in _named(place.segment, msh, scope):
            text = leaf(segment, place.field, place.component, place.subcomponent)
            if text is not None:
                return text
    return None


def _number_or_text(text: str) -> str | float:
    """As the OBX path reads NM today: a finite number as such, anything else as sent."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
