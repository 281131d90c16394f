"""Who an ASTM message is about and who sent it: the P record's patient, H-5's analyzer.

Both read where the dialect says (:mod:`adapters.astm.dialect`): the patient's id, name, birth
date and sex from its ``patient_fields`` (E1394's P-3/P-4/P-5, P-6, P-8, P-9 unless an
analyzer shifts them), the analyzer from its H-5 ``sender`` layout. A dialect's placeholder dates
(``19000101``...) are no date, here and in result times.
"""

from __future__ import annotations

from adapters.astm.dialect import Dialect
from adapters.astm.records import Record
from adapters.canonical.codes import DeviceIdentity, PatientRef
from adapters.hl7.tables import SEXES
from adapters.hl7.timestamps import parse_date


def patient_ref(p: Record, dialect: Dialect) -> PatientRef | None:
    """The patient of a P record, or ``None`` when it names nobody (QC, anonymous runs)."""
    at = dialect.patient_fields
    name = " ".join(part for c in (1, 3, 2) if (part := p.component(at.name, c).strip()))
    birth = p.text(at.birth_date)
    patient = PatientRef(
        id=next((text for n in at.ids if (text := p.text(n))), None),
        name=name or None,
        birth_date=None if is_placeholder_date(birth, dialect) else parse_date(birth),
        sex=SEXES.get(p.text(at.sex).lower()),
    )
    return patient if patient != PatientRef() else None


def analyzer_identity(h: Record, dialect: Dialect) -> DeviceIdentity:
    """The sender of H-5 per the dialect's layout, named with the dialect that read it."""
    layout = dialect.sender

    def part(c: int) -> str | None:
        return (h.component(5, c).strip() or None) if c else None

    return DeviceIdentity(
        manufacturer=part(layout.manufacturer) or dialect.manufacturer,
        model=part(layout.model),
        serial=part(layout.serial),
        software=part(layout.software),
        dialect=dialect.name,
    )


def is_placeholder_date(text: str, dialect: Dialect) -> bool:
    """The dialect's "no date" spelling (an analyzer that fills every date field)."""
    return any(text.startswith(p) for p in dialect.placeholder_dates)
