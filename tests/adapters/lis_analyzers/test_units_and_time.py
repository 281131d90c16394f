"""Vendor units to UCUM, and HL7 timestamps to aware datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hl7.timestamps import parse_date, parse_ts, ts_zone
from adapters.units import to_ucum

ICT = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("vendor", "ucum"),
    [
        ("10^9/L", "10*9/L"),
        ("x10^9/L", "10*9/L"),
        ("10^12/L", "10*12/L"),
        ("10*9/L", "10*9/L"),
        ("g/dl", "g/dL"),
        ("%", "%"),
        ("fl", "fL"),
        ("pg", "pg"),
        ("mmol/l", "mmol/L"),
        ("mg/dl", "mg/dL"),
        ("Copies/mL", "{copies}/mL"),
        ("Copies / mL", "{copies}/mL"),
        ("cp/mL", "{copies}/mL"),
        ("IU/mL", "[IU]/mL"),
        ("U/L", "U/L"),
        ("µmol/L", "umol/L"),
        ("G/L", "G/L"),  # giga or grams per litre: ambiguous in Vietnam, so left as sent
        ("mU/L", "mU/L"),  # unknown: as sent
        ("1/mL", "1/mL"),
    ],
)
def test_vendor_units_to_ucum(vendor: str, ucum: str) -> None:
    assert to_ucum(vendor) == ucum


@given(st.text(max_size=12))
def test_normalising_twice_changes_nothing(unit: str) -> None:
    assert to_ucum(to_ucum(unit)) == to_ucum(unit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20080508150616", datetime(2008, 5, 8, 15, 6, 16, tzinfo=ICT)),
        (
            "20260912120000.0000+0530",
            datetime(2026, 9, 12, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("202609121200-0300", datetime(2026, 9, 12, 12, tzinfo=timezone(-timedelta(hours=3)))),
        ("2026091212", datetime(2026, 9, 12, 12, tzinfo=ICT)),
        ("20260912", datetime(2026, 9, 12, tzinfo=ICT)),
        ("20260912120000.5", datetime(2026, 9, 12, 12, 0, 0, 500000, tzinfo=ICT)),
        ("20261312120000", None),  # month 13
        ("20260912120000+2500", None),  # offset out of range
        ("202609121200.5", None),  # a fraction needs seconds
        ("2026-09-12", None),
        ("", None),
    ],
)
def test_hl7_timestamps(text: str, expected: datetime | None) -> None:
    assert parse_ts(text, ICT) == expected


def test_zone_and_birth_date_helpers() -> None:
    assert ts_zone("20260112150335+0100") == timezone(timedelta(hours=1))
    assert ts_zone("20260112150335") is None
    assert parse_date("19900804000000") == "1990-08-04"
    assert parse_date("199008") is None
    assert parse_date("19900231") is None


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_formatted_timestamps_parse_back(moment: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = moment.replace(microsecond=moment.microsecond // 100 * 100, tzinfo=zone)
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{moment:%Y%m%d%H%M%S}.{moment.microsecond // 100:04d}{sign}{hours:02d}{minutes:02d}"
    assert parse_ts(text, ICT) == moment
