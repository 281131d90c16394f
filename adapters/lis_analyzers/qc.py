"""Patient or not: one verdict from every mark a lab message carries, always on the safe side.

A QC result filed as a patient's is a clinical error (a LIS can match a control's sample number
to a real tube), while a patient result held back as QC is a delay someone will notice. So the
lab mappers (HL7 and ASTM) collect *marks*, places where the message says what the specimen is
(``SPM-11=Q``, ``O-12=Q``, a dialect's ``SPM-4=QC3``), and this module decides:

- no mark, or only patient marks: a patient's result (:class:`LabResult`, unchanged);
- any other mark: a :class:`QcResult` without the patient, whatever else the message says;
- *ambiguous* (still QC, flagged and counted by the gateway) when the marks name different
  roles, when an explicit patient mark contradicts a QC mark, or when the only mark is *weak*:
  one the dialect cannot vouch for (MSH-11 ``T`` from a sender whose dialect does not say
  whether its processing id means anything; Boditech sends ``T`` for patients).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.canonical.events import LabResult, QcResult

PATIENT = "patient"
UNKNOWN_ROLE = "unknown"
DETAILS = ("control", "lot", "level")
"""Named regex groups a rule may capture (``QC(?P<level>\\d)``), copied into the QcResult."""


@dataclass(frozen=True, slots=True)
class Mark:
    """One place in a message that says what kind of specimen this is."""

    role: str
    """:data:`PATIENT` or a non-patient role (``control``, ``calibrator``…)."""
    evidence: str
    """Where it was read and what it said, e.g. ``SPM-4=QC3`` (no patient data: codes only)."""
    weak: bool = False
    control: str | None = None
    lot: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    role: str | None
    """``None``: a patient's specimen."""
    evidence: tuple[str, ...] = ()
    ambiguous: bool = False
    control: str | None = None
    lot: str | None = None
    level: str | None = None


def mark_from_match(role: str, evidence: str, found: re.Match[str], *, weak: bool = False) -> Mark:
    """A mark carrying the named groups (control, lot, level) its rule captured."""
    groups = {k: v for k, v in found.groupdict().items() if k in DETAILS and v}
    return Mark(role, evidence, weak, **groups)


def verdict(marks: Iterable[Mark]) -> Verdict:
    """The one verdict for a specimen from all its marks, strongest (first given) first."""
    marks = list(marks)
    others = [m for m in marks if m.role != PATIENT]
    if not others:
        return Verdict(role=None)
    roles = {m.role for m in others}
    ambiguous = (
        len(roles) > 1
        or any(m.role == PATIENT for m in marks)
        or all(m.weak for m in others)
        or UNKNOWN_ROLE in roles
    )
    return Verdict(
        role=others[0].role,
        evidence=tuple(m.evidence for m in marks),
        ambiguous=ambiguous,
        control=next((m.control for m in others if m.control), None),
        lot=next((m.lot for m in others if m.lot), None),
        level=next((m.level for m in others if m.level), None),
    )


def routed(
    result: LabResult,
    found: Verdict,
    *,
    control: str | None = None,
    lot: str | None = None,
    level: str | None = None,
) -> LabResult | QcResult:
    """``result`` itself for a patient; else the same results as a QcResult, without patient.

    ``control``, ``lot`` and ``level`` are what the dialect's QC fields hold; a mark's own
    capture wins, since it was read from the very field that made the specimen a control.
    """
    if found.role is None:
        return result
    return QcResult(
        role=found.role,
        evidence=list(found.evidence),
        ambiguous=found.ambiguous,
        specimen_id=result.specimen_id,
        control=found.control or control,
        lot=found.lot or lot,
        level=found.level or level,
        ordered_tests=result.ordered_tests,
        observations=result.observations,
        analyzer=result.analyzer,
        status=result.status,
        collected_at=result.collected_at,
        resulted_at=result.resulted_at,
        comments=result.comments,
        rack=result.rack,
        position=result.position,
    )
