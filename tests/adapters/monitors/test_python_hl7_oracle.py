"""Cross-check with python-hl7, a parser we did not write: the OBX-5 numbers of every vitals file.

The metric rule (NM, at most four OBX-4 levels, not a setting) is restated on python-hl7's
containers, so a split or selection bug in our mapper shows up as a mismatch.
"""

from __future__ import annotations

import hl7
import pytest

from adapters.canonical.codes import ValueKind
from adapters.monitors.pcd import monitor_events_from_hl7
from tests.adapters.monitors.corpus import (
    LOCAL_MONITOR_FILES,
    SHARED_MONITOR_FILES,
    load,
    sample_path,
)

R01_FILES = [n for n in SHARED_MONITOR_FILES + LOCAL_MONITOR_FILES if "r01" in n]


def oracle(name: str) -> list[tuple[str, float | None]]:
    message = hl7.parse(sample_path(name).read_bytes().decode("utf-8"))
    values: list[tuple[str, float | None]] = []
    for segment in message:
        if str(segment[0]) != "OBX" or str(segment(2)) != "NM":
            continue
        levels = [p for p in str(segment(4)).split(".") if p]
        method = str(segment(17)).split("^")[0] if len(segment) > 17 else ""
        if len(levels) > 4 or method in {"ASET", "MSET", "RSET"}:
            continue
        text = str(segment(5)) if len(segment) > 5 else ""
        values.append((str(segment(3)).split("^")[0], float(text) if text else None))
    return values


@pytest.mark.parametrize("name", R01_FILES)
def test_obx5_numbers_agree_with_python_hl7(name: str) -> None:
    ours = [
        (o.local_code.code, o.value)
        for event in monitor_events_from_hl7(load(name))
        for o in getattr(event, "observations", [])
        if o.reported is None or o.reported.kind is not ValueKind.CODED  # numbers only
    ]
    assert ours == oracle(name)
    assert ours
