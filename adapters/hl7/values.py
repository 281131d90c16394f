"""OBX-5 values by OBX-2 value type, as a table of readers (see :mod:`hl7_results` for why)."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import MappingProxyType

from adapters.canonical.codes import ReportedValue, ValueKind
from adapters.canonical.numbers import read_coded, read_structured, read_value
from adapters.hl7.message import NULL, Segment

REPETITION_JOIN = "~"
# Flag on an observation whose value a device marks as not valid (a sentinel like -999).
INVALID_FLAG = "INVALID"
CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})
# Types whose text is never a number even when it is all digits (a DTM 20261122 is a time).
NOT_NUMERIC_TYPES = frozenset({"DT", "DTM", "TM", "TS", "ID", "IS"})

Value = str | float | None


def obx_value(obx: Segment, value_type: str) -> Value:
    """OBX-5 read as ``value_type``; repetitions joined as text with ``~``; empty is ``None``."""
    present = [i for i, rep in enumerate(obx.repetitions(5)) if rep and rep != NULL]
    if len(present) > 1:  # as text: a float would lose the device's digits
        read = _as_coded if value_type in CODED_TYPES else _as_text
        return REPETITION_JOIN.join(str(v) for i in present if (v := read(_components(obx, i))))
    if not present:
        return None
    return _READERS.get(value_type, _as_text)(_components(obx, present[0]))


def _components(obx: Segment, rep: int) -> list[str]:
    return obx.components(5, rep=rep)


def _as_text(components: list[str]) -> str | None:
    return "^".join(components).rstrip("^").strip() or None


def _as_number(components: list[str]) -> Value:
    text = components[0].strip()
    try:
        number = float(text)
    except ValueError:
        return text or None
    return number if math.isfinite(number) else text


def _as_structured_number(components: list[str]) -> Value:
    """SN ``comparator^num1^separator^num2``: a plain number, else its text (``<20``, ``1:128``)."""
    if len(components) > 1 and not "".join(components[:1] + components[2:]):
        return _as_number(components[1:2])
    return "".join(components).strip() or None


def _as_coded(components: list[str]) -> Value:
    text = components[1].strip() if len(components) > 1 else ""
    return text or components[0].strip() or None


_READERS: MappingProxyType[str, Callable[[list[str]], Value]] = MappingProxyType(
    {"NM": _as_number, "SN": _as_structured_number} | dict.fromkeys(CODED_TYPES, _as_coded)
)


def obx_reported(
    obx: Segment, value_type: str, *, decimal_comma: bool = False
) -> tuple[ReportedValue | None, list[str]]:
    """OBX-5 exactly as sent and read (ADR 0014), with the flags the reading needs.

    Repetitions stay text (joined with ``~``). NM, SN and the text types are read as numbers
    when the whole text is one (Boditech types numbers ``TX``); coded types keep their code.
    """
    present = [i for i, rep in enumerate(obx.repetitions(5)) if rep and rep != NULL]
    if not present:
        return None, []
    if len(present) > 1:
        text = REPETITION_JOIN.join(_as_text(_components(obx, i)) or "" for i in present)
        return ReportedValue(text=text, kind=ValueKind.TEXT), []
    components = _components(obx, present[0])
    if value_type == "SN":
        return read_structured(components, decimal_comma=decimal_comma)
    if value_type in CODED_TYPES:
        return read_coded(components), []
    text = _as_text(components) or ""
    if value_type in NOT_NUMERIC_TYPES or len([c for c in components if c.strip()]) > 1:
        return ReportedValue(text=text, kind=ValueKind.TEXT), []
    return read_value(text, decimal_comma=decimal_comma)
