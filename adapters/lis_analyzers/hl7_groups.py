"""The OBR groups of an HL7 lab message, each with its patient, specimen block and ORC."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.canonical.codes import PatientRef
from adapters.hl7.fields import leaf, patient_from_pid
from adapters.hl7.message import NULL, Message, Segment

SPECIMEN_BLOCK = frozenset({"SAC", "INV"})
"""Segments that belong to the specimen (container, control material) right after its SPM."""


@dataclass(slots=True)
class Group:
    obr: Segment
    patient: PatientRef | None
    specimen: list[Segment]
    """SPM, then the SAC and INV that follow it before any OBR (empty: no SPM)."""
    orc: list[Segment] = field(default_factory=list)
    obx: list[Segment] = field(default_factory=list)

    @property
    def spm(self) -> Segment | None:
        return self.specimen[0] if self.specimen else None

    @property
    def sac(self) -> Segment | None:
        return next((s for s in self.specimen if s.name == "SAC"), None)

    @property
    def carrier(self) -> tuple[str | None, str | None]:
        """SAC-10 carrier (rack) and SAC-11 position in it, as sent (IHE LAW, Alinity m ``7``).

        SAC-11 is a numeric array: a ``row^column`` position stays joined with ``^``.
        """
        position = "^".join(c.strip() for c in self.sac.components(11)) if self.sac else ""
        position = position.strip("^")
        return leaf(self.sac, 10), position if position and position != NULL else None

    @property
    def scope(self) -> list[Segment]:
        """What the group's specimen role is judged by (see :mod:`hl7_qc`)."""
        return [*self.specimen, self.obr, *self.orc]


def groups_of(message: Message) -> list[Group]:
    """OBR groups with their patient and specimen, for SPM before OBR (R22) or after it (R24)."""
    groups: list[Group] = []
    patient: PatientRef | None = None
    specimen: list[Segment] = []
    in_specimen_block = False
    orc: list[Segment] = []
    for segment in message.segments[1:]:
        open_group = groups[-1] if groups and not groups[-1].obx else None
        name = segment.name
        if name == "PID":
            patient = patient_from_pid(segment)
        elif name == "SPM":
            specimen, in_specimen_block = [segment], True
            if open_group is not None:
                open_group.specimen = specimen  # R24: the SPM follows its OBR
            continue
        elif name in SPECIMEN_BLOCK and in_specimen_block:
            specimen.append(segment)  # the list is shared with the groups that name it
            continue
        elif name == "ORC":
            (open_group.orc if open_group is not None else orc).append(segment)
        elif name == "OBR":
            groups.append(Group(segment, patient, specimen, orc))
            orc = []
        elif name == "OBX" and groups:
            groups[-1].obx.append(segment)
        in_specimen_block = False
    return groups
