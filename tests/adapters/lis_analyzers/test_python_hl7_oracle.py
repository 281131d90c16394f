"""Cross-check with python-hl7, a parser we did not write: OBX-5 and OBX-6 as it splits them.

The reading rules (value type, null, skipped OBX) are restated here on python-hl7's containers, so
a split or unescape bug in our parser shows up as a mismatch.
"""

from __future__ import annotations

import hl7
import pytest

from adapters.codemap import CodeMap
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from adapters.units import to_ucum
from tests.adapters.lis_analyzers.corpus import LOCAL_LAB_FILES, SHARED_LAB_FILES, load, sample_path

NULL = '""'


def repetitions(message: hl7.Message, field: hl7.Field) -> list[list[str]]:
    """Each repetition as its unescaped components ('' and "" repetitions dropped)."""
    if all(isinstance(item, str) for item in field):
        reps = [[str(field)]]
    else:
        reps = [[str(component) for component in rep] for rep in field]
    return [[message.unescape(c) for c in rep] for rep in reps if "^".join(rep) not in ("", NULL)]


def expected_value(value_type: str, reps: list[list[str]]) -> str | float | None:
    def text(comps: list[str]) -> str:
        if value_type in {"CE", "CWE", "CNE", "CF"}:
            return (comps[1] if len(comps) > 1 else "").strip() or comps[0].strip()
        return "^".join(comps).rstrip("^").strip()

    if not reps:
        return None
    if len(reps) > 1:
        return "~".join(text(r) for r in reps)
    comps = reps[0]
    if value_type == "NM":
        try:
            return float(comps[0])
        except ValueError:
            return comps[0].strip()
    if value_type == "SN":
        if len(comps) > 1 and not "".join(comps[:1] + comps[2:]):
            return float(comps[1])
        return "".join(comps)
    return text(comps) or None  # e.g. a CE with a coding system and no code


def oracle(name: str) -> list[tuple[str | float | None, str | None]]:
    text = sample_path(name).read_bytes().decode("utf-8").replace("\n", "\r")
    message = hl7.parse(text)
    seen: list[str] = []
    rows: list[tuple[str | float | None, str | None]] = []
    groups_with_obx = 0
    for segment in message:
        name_ = str(segment[0])
        if name_ == "OBR":
            seen, groups_with_obx = [], groups_with_obx + 1
        if name_ != "OBX":
            continue
        value_type = str(segment(2))
        code = repetitions(message, segment(3))
        if value_type in {"ED", "NA", "MA", "RP"} or (code and code[0][3:4] == ["S_OTHER"]):
            continue
        value = expected_value(value_type, repetitions(message, segment(5)))
        code_text = str(segment(3))
        if value is None and code_text and code_text in seen:
            continue
        seen.append(code_text)
        units = repetitions(message, segment(6))
        unit = (units[0][0] or (units[0][1:2] or [""])[0]) if units else ""
        rows.append((value, to_ucum(unit.strip()) if unit.strip() else None))
    return rows


@pytest.mark.parametrize("name", SHARED_LAB_FILES + LOCAL_LAB_FILES)
def test_values_and_units_agree_with_python_hl7(name: str) -> None:
    results = lab_results_from_hl7(load(name), CodeMap.empty(), "x")
    ours = [(o.value, o.unit) for r in results for o in r.observations]
    assert ours == oracle(name)
    assert ours  # every lab sample has results
