"""Reading common HL7 v2 fields the same way in every device family (lab, monitors)."""

from __future__ import annotations

from adapters.canonical.codes import PatientRef
from adapters.hl7.message import NULL, Segment
from adapters.hl7.tables import SEXES
from adapters.hl7.timestamps import parse_date


def leaf(segment: Segment | None, n: int, c: int = 1, sub: int = 1, rep: int = 0) -> str | None:
    """A leaf's text; ``None`` when absent, empty or HL7's explicit null ``""``."""
    if segment is None:
        return None
    text = segment.component(n, c, rep=rep, sub=sub).strip()
    return text if text and text != NULL else None


def patient_from_pid(pid: Segment) -> PatientRef | None:
    name = " ".join(p for c in (1, 3, 2) if (p := leaf(pid, 5, c)))  # family middle given
    patient = PatientRef(
        id=leaf(pid, 3) or leaf(pid, 2),
        name=name or None,
        birth_date=parse_date(leaf(pid, 7) or ""),
        sex=SEXES.get((leaf(pid, 8) or "").lower()),
    )
    return patient if patient != PatientRef() else None
