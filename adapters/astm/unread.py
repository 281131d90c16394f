"""Non-empty fields of a message that no rule of its dialect reads: a wrong layout made visible.

A patient name sent in P-7 instead of P-6, or a Mindray BC read with the Mindray CL layout, does
not fail: the mapping reads the expected places, finds them empty and forwards less. Counting
what was sent but not read turns that silence into a number per record type (the gateway's
``wardlink_astm_unread_fields_total``) and a list of positions in the device's status.

Read means: named in the dialect's field layout (:mod:`adapters.astm.dialect_fields`), its
specimen-id places, sender field and specimen-role rules, or the E1394 structure (type letter,
sequence number, delimiters, message id, receiver, version, message time, termination code),
or listed in the dialect's ``ignored_fields`` as knowingly left out. C-4 is read after an O or
R (order and result comments); a comment after H, P or Q and every M record are not carried.
Records of another type than H, P, O, R, C, Q, M, L, S are ignored by the record layer and not
counted here.
Sans-IO and PHI-free: positions and counts only, never a value.
"""

from __future__ import annotations

from collections import Counter

from adapters.astm.dialect import Dialect
from adapters.astm.dialect_fields import RECORD_TYPES, STRUCTURAL_FIELDS, RecordType
from adapters.astm.records import AstmMessage, Record

Position = tuple[RecordType, int]
"""A record type and a field number (the type letter is field 1): ``("P", 7)`` is P-7."""

_TYPES: dict[str, RecordType] = {t: t for t in RECORD_TYPES}
_COMMENTED = frozenset({"O", "R"})
"""Record types whose C records the results mapping carries."""
_QUERY_FIELDS = frozenset({3, 5})
"""Q-3 (specimen ids) and Q-5 (tests): what :func:`adapters.astm.host_query.host_query` reads."""


def unread_fields(message: AstmMessage, dialect: Dialect) -> Counter[Position]:
    """How often each non-empty field of ``message`` went unread under ``dialect``."""
    read = _read_fields(dialect)
    unread: Counter[Position] = Counter()
    owner = "H"  # the record a C or M record hangs under, as the record layer attaches it
    for record in message.records:
        kind = _TYPES.get(record.type)
        if kind is None:
            continue
        if kind == "C":
            known = read["C"] if owner in _COMMENTED else STRUCTURAL_FIELDS["C"]
        else:
            known = read[kind]
            if kind != "M":
                owner = kind
        unread.update((kind, n) for n in _filled(record) if n not in known)
    return unread


def _filled(record: Record) -> list[int]:
    """Field numbers holding more than delimiters and padding."""
    marks = record.delimiters.component + record.delimiters.repeat
    return [n for n, raw in enumerate(record.fields, start=1) if raw.strip(marks + " ")]


def _read_fields(dialect: Dialect) -> dict[str, frozenset[int]]:
    patient, order, result = dialect.patient_fields, dialect.order_fields, dialect.result_fields
    roles = {t: {rule.field for rule in dialect.role_rules if rule.record == t} for t in "HO"}
    read: dict[str, set[int]] = {
        "H": {5, *roles["H"]},
        "P": {*patient.ids, patient.name, patient.birth_date, patient.sex},
        "O": {
            *(ref.field for ref in dialect.specimen_id),
            *(ref.field for ref in (dialect.rack, dialect.position) if ref is not None),
            *roles["O"],
            order.tests,
            order.collected_at,
            order.reported_at,
            order.report_type,
        },
        "R": {
            result.test,
            result.value,
            result.unit,
            result.reference_range,
            result.flags,
            result.status,
            result.started_at,
            result.completed_at,
            result.instrument,
        },
        "C": {4},
        "Q": set(_QUERY_FIELDS),
    }
    return {
        t: frozenset(
            read.get(t, set()) | STRUCTURAL_FIELDS[t] | set(dialect.ignored_fields.get(t, ()))
        )
        for t in RECORD_TYPES
    }
