"""The parts of an IHE PCD ORU message both mappers share: OBR groups bound to patient and bed.

PCD-01 and PCD-04 repeat ``PID PV1 OBR OBX…`` per patient (a central station or gateway sends
several beds in one message), so each OBR group takes the PID and PV1 that precede it. OBX rows
before any OBR (non-IHE senders) form a group of their own without an OBR.

Patient fields are read by the shared PID reader (``adapters.hl7.fields.patient_from_pid``), so a
person gets the same id and name whichever device family reported them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache

from adapters.canonical.codes import CodedValue, PatientRef
from adapters.hl7.fields import leaf, patient_from_pid
from adapters.hl7.message import NULL, Message, Segment
from adapters.hl7.timestamps import parse_ts, ts_zone
from adapters.monitors.mdc import MDC_SYSTEM, METRICS, ucum_unit

BED_PARTS = (1, 2, 3)  # PL: point of care, room, bed (facility and the rest name no place)
BED_JOIN = "/"
LOCAL_SYSTEM = "local"

text = leaf  # the lab path's leaf reader: ``None`` for absent, empty and ``""``


@dataclass(slots=True)
class ObrGroup:
    obr: Segment | None
    patient: PatientRef | None
    bed: str | None
    obx: list[Segment] = field(default_factory=list)


def obr_groups(message: Message) -> list[ObrGroup]:
    """OBR groups in message order, each with the patient and bed in force where it starts."""
    groups: list[ObrGroup] = []
    patient: PatientRef | None = None
    bed: str | None = None
    for segment in message.segments[1:]:
        if segment.name == "PID":
            patient, bed = (
                patient_from_pid(segment),
                None,
            )  # a new patient: the old bed no longer holds
        elif segment.name == "PV1":
            bed = bed_of(segment)
        elif segment.name == "OBR":
            groups.append(ObrGroup(segment, patient, bed))
        elif segment.name == "OBX":
            if not groups:
                groups.append(ObrGroup(None, patient, bed))
            groups[-1].obx.append(segment)
    return groups


def bed_of(pv1: Segment) -> str | None:
    """PV1-3 as ``point of care/room/bed`` with empty parts left out (``ICU^^Bed3`` → ``ICU/Bed3``).

    Subcomponents count as parts too: ``^^&10`` is bed ``10``.
    """
    reps = pv1.repetitions(3)
    if not reps:
        return None
    components = reps[0].split(pv1.delimiters.component)
    parts = [
        leaf
        for c in BED_PARTS
        if c <= len(components)
        for s in range(1, components[c - 1].count(pv1.delimiters.subcomponent) + 2)
        if (leaf := pv1.component(3, c, sub=s).strip()) and leaf != NULL
    ]
    return BED_JOIN.join(parts) or None


def message_zone(message: Message, local_zone: tzinfo) -> tzinfo:
    """The zone of times without an offset: MSH-7's offset when it has one, else the site's."""
    return ts_zone(message.msh.text(7)) or local_zone


def time(segment: Segment | None, n: int, zone: tzinfo) -> datetime | None:
    value = leaf(segment, n)
    return parse_ts(value, zone) if value is not None else None


def path(obx: Segment) -> tuple[str, ...]:
    """OBX-4 containment ``MDS.VMD.CHAN.METRIC[.facet]`` as its levels (``()`` when absent)."""
    sub_id = (leaf(obx, 4) or "").strip(".")
    return tuple(sub_id.split(".")) if sub_id else ()


def local_code(obx: Segment) -> CodedValue | None:
    """OBX-3 as sent; the system defaults to ``local`` when OBX-3.3 is empty."""
    code, display, system = ([_present(part) for part in obx.components(3)] + [None] * 3)[:3]
    if code is None:
        return None
    return _coded(code, system or LOCAL_SYSTEM, display)


def _present(text: str) -> str | None:
    """As :func:`adapters.hl7.fields.leaf` for a component already read."""
    text = text.strip()
    return text if text and text != NULL else None


@lru_cache(maxsize=4096)
def _coded(code: str, system: str, display: str | None) -> CodedValue:
    """Shared instances (they are frozen): a monitor repeats the same few codes every second."""
    return CodedValue(code=code, system=system, display=display)


@lru_cache(maxsize=4096)
def mdc_code(local: CodedValue) -> CodedValue | None:
    """The MDC code of an OBX-3 sent in the MDC system, named from our table when we know it."""
    if local.system.upper() != MDC_SYSTEM:
        return None
    term = METRICS.get(local.code)
    display = term.display if term is not None else local.display
    return CodedValue(code=local.code, system=MDC_SYSTEM, display=display)


def obx_unit(obx: Segment) -> str | None:
    """OBX-6 in UCUM (see :func:`adapters.monitors.mdc.ucum_unit`); ``None`` when not sent."""
    parts = [_present(part) or "" for part in obx.components(6)[:6]]
    parts += [""] * (6 - len(parts))
    if not any(parts[:2]) and not parts[3]:
        return None
    return ucum_unit(parts[0], parts[1], parts[2], parts[3], parts[5])
