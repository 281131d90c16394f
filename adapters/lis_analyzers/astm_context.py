"""The parts of an ASTM result beyond code and value (schema 1.1).

The value as sent and read, the instrument or module that measured (R-14), the rack and
position of the specimen (O-4).

R-4 text is what :func:`adapters.lis_analyzers.astm_results` has always built: the only
non-empty component (Phadia ``9.34^^^^``, GeneXpert ``^1234.56``), else the components joined
with ``^``, repeats with ``~``. Only a single component is read as a number (ADR 0014).
"""

from __future__ import annotations

from adapters.astm.dialect import Dialect, FieldRef
from adapters.astm.records import Record
from adapters.canonical.codes import CodedValue, ReportedValue, ValueKind
from adapters.canonical.numbers import read_value
from adapters.hl7.values import REPETITION_JOIN

INSTRUMENT_SYSTEM = "astm-r14"


def r_value_text(r: Record, n: int) -> tuple[str, bool]:
    """The value field ``n`` (R-4 unless the dialect moves it) as sent, and if it is one part.

    Only a single component is a candidate number.
    """
    texts = []
    single = len(r.repeats(n)) <= 1
    for rep in range(len(r.repeats(n))):
        parts = [c.strip() for c in r.components(n, rep=rep)]
        present = [p for p in parts if p]
        single = single and len(present) <= 1
        texts.append(present[0] if len(present) == 1 else "^".join(parts).rstrip("^"))
    return REPETITION_JOIN.join(t for t in texts if t), single


def r_reported(r: Record, n: int, *, decimal_comma: bool) -> tuple[ReportedValue | None, list[str]]:
    text, single = r_value_text(r, n)
    if not text:
        return None, []
    if not single:
        return ReportedValue(text=text, kind=ValueKind.TEXT), []
    return read_value(text, decimal_comma=decimal_comma)


def r_instrument(r: Record, n: int) -> list[CodedValue] | None:
    """R-14 instrument identification as sent (ARCHITECT ``c402830``, Roche module ``P1``)."""
    text = "^".join(c.strip() for c in r.components(n)).strip("^")
    return [CodedValue(code=text, system=INSTRUMENT_SYSTEM)] if text else None


def o_place(o: Record, place: FieldRef | None) -> str | None:
    if place is None:
        return None
    return o.component(place.field, place.component).strip() or None


def o_rack_position(o: Record, dialect: Dialect) -> tuple[str | None, str | None]:
    return o_place(o, dialect.rack), o_place(o, dialect.position)
