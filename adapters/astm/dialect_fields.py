"""Where a dialect reads the P, O and R fields, and which other fields it knowingly leaves.

E1394 fixes the positions below, but analyzers drift: one sends the patient's name, birth date
and sex one field late (P-7, P-9, P-10). A dialect moves a field with a table, e.g.::

    [patient_fields]   # name, birth date and sex one field late
    name = 7
    birth_date = 9
    sex = 10

Every field number the mapping reads is named here, so :mod:`adapters.astm.unread` can tell
which non-empty fields a message carried that no rule read: a field shifted out of place or a
wrong dialect shows up as unread instead of vanishing. A field a dialect knowingly leaves out
(an operator name, a raw value repeated) is listed in ``ignored_fields`` with a comment why.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RecordType = Literal["H", "P", "O", "R", "C", "Q", "M", "L", "S"]
RECORD_TYPES: tuple[RecordType, ...] = ("H", "P", "O", "R", "C", "Q", "M", "L", "S")


def _at(default: int) -> Any:
    """A field position: E1394's by default; the type letter is field 1."""
    return Field(default=default, ge=2, le=99)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PatientFields(_Frozen):
    """P record: the patient ids (best first), name, birth date and sex."""

    ids: tuple[Annotated[int, Field(ge=2, le=99)], ...] = Field(default=(3, 4, 5), min_length=1)
    name: int = _at(6)
    birth_date: int = _at(8)
    sex: int = _at(9)


class OrderFields(_Frozen):
    """O record: ordered tests, collection and report times, report type."""

    tests: int = _at(5)
    collected_at: int = _at(8)
    reported_at: int = _at(23)
    report_type: int = _at(26)


class ResultFields(_Frozen):
    """R record: test id, value, unit, range, flags, status, times, instrument or module."""

    test: int = _at(3)
    value: int = _at(4)
    unit: int = _at(5)
    reference_range: int = _at(6)
    flags: int = _at(7)
    status: int = _at(9)
    started_at: int = _at(12)
    completed_at: int = _at(13)
    instrument: int = _at(14)


STRUCTURAL_FIELDS: dict[str, frozenset[int]] = {
    # The record type and its sequence number (H-2: the delimiters) say where a value sits,
    # not what it is; H-3 (message control id) and H-13 (version) are the wire's business;
    # H-10 (receiver: this gateway) addresses the message; H-14 is when it was sent: each
    # result carries its own times (O-8, R-12, R-13).
    **{t: frozenset({1, 2}) for t in RECORD_TYPES},
    "H": frozenset({1, 2, 3, 10, 13, 14}),
    # L-3 termination code: read by the record layer and the host-query answer.
    "L": frozenset({1, 2, 3}),
}
