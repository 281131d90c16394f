"""The MDC tables and the unit rules built on them."""

from __future__ import annotations

import pytest

from adapters.hl7.parse import parse_message
from adapters.monitors.mdc import ALARM_ATTRIBUTES, METRICS, UNITS, ucum_unit
from adapters.monitors.pcd_groups import bed_of

UCUM_UNITS = {"%", "/min", "mm[Hg]", "Cel", "[degF]", "1", "kg", "cm"}


def test_metric_table_is_consistent() -> None:
    assert METRICS["150456"].ref == "MDC_PULS_OXIM_SAT_O2"
    assert METRICS["147842"].ref == "MDC_ECG_HEART_RATE"
    assert all(term.ref.startswith("MDC_") and term.code == code for code, term in METRICS.items())
    assert {term.unit for term in METRICS.values()} <= UCUM_UNITS
    assert set(UNITS.values()) <= UCUM_UNITS


def test_both_alarm_attribute_code_sets_are_known() -> None:
    assert ALARM_ATTRIBUTES["68481"] == ALARM_ATTRIBUTES["68165"] == "phase"
    assert ALARM_ATTRIBUTES["68482"] == ALARM_ATTRIBUTES["68166"] == "state"
    assert ALARM_ATTRIBUTES["68484"] == "priority"


@pytest.mark.parametrize(
    ("obx6", "expected"),
    [
        (("266016", "MDC_DIM_MMHG", "MDC"), "mm[Hg]"),
        (("264928", "MDC_DIM_RESP_PER_MIN", "MDC"), "/min"),
        (("268192", "MDC_DIM_DEGC", "MDC"), "Cel"),
        (("999999", "MDC_DIM_X", "MDC"), "MDC_DIM_X"),  # unknown MDC unit: its name as sent
        (("mm[Hg]", "millimetre of mercury", "UCUM"), "mm[Hg]"),
        (("", "", "", "/min", "UCUM"), "/min"),  # UCUM in OBX-6.4 and .6
        (("mmHg", "", ""), "mm[Hg]"),
        (("bpm", "", ""), "/min"),
        (("g/dl", "", ""), "g/dL"),  # the lab spellings still apply
        (("furlongs", "", ""), "furlongs"),
    ],
)
def test_units_become_ucum(obx6: tuple[str, ...], expected: str) -> None:
    assert ucum_unit(*obx6) == expected


@pytest.mark.parametrize(
    ("pv1_3", "bed"),
    [
        ("ICU^^Bed3", "ICU/Bed3"),
        ("ICU^^5^XYZ HOSPITAL^^^^^00-0F-14-50-72-99", "ICU/5"),
        ("^^&10", "10"),
        ("ICU^B1^B1^GE_BLR_LAB", "ICU/B1/B1"),
        ("^^^^", None),
        ('""', None),
        ("", None),
    ],
)
def test_bed_from_pv1_3(pv1_3: str, bed: str | None) -> None:
    raw = f"MSH|^~\\&|M||||||ORU^R01|1|P|2.6\rPV1||I|{pv1_3}\r".encode()
    pv1 = parse_message(raw).first("PV1")
    assert pv1 is not None
    assert bed_of(pv1) == bed
