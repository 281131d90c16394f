"""Field positions per dialect, and the fields a dialect leaves unread (issue 12, finding 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.astm.dialect import Dialect, DialectError, dialect_from_file, load_dialect
from adapters.astm.records import parse_transmission
from adapters.astm.unread import unread_fields
from adapters.canonical.events import LabResult
from adapters.codemap import CodeMap
from adapters.lis_analyzers.astm_results import lab_results_from_astm

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "corpus" / "astm" / "dialects"
SHIFTED = FIXTURES / "shifted_patient_fields.astm"
RECORDS = REPO / "tests" / "corpus" / "astm" / "records"


def shifted_dialect() -> Dialect:
    return dialect_from_file(FIXTURES / "shifted_patient.toml", "shifted-patient")


def test_a_shifted_p_record_is_read_whole_with_a_dialect_that_declares_it() -> None:
    (message,) = parse_transmission(SHIFTED.read_bytes())
    dialect = shifted_dialect()
    assert dialect.matches(message.header.record.fields)
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "shifted", dialect)
    assert isinstance(result, LabResult)
    assert result.patient is not None
    assert (result.patient.name, result.patient.birth_date, result.patient.sex) == (
        "Lê Quang Minh",
        "1990-05-21",
        "male",
    )
    assert result.patient.id == "BN2026-0311"
    assert [(o.local_code.code, o.value) for o in result.observations] == [("GLU", 5.4)]
    assert unread_fields(message, dialect) == {}


def test_the_same_p_record_read_as_generic_is_counted_unread_not_dropped_silently() -> None:
    (message,) = parse_transmission(SHIFTED.read_bytes())
    generic = load_dialect("generic")
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "shifted", generic)
    assert isinstance(result, LabResult)
    assert result.patient is not None
    assert (result.patient.name, result.patient.birth_date, result.patient.sex) == (
        None,
        None,
        None,
    )
    # P-9 (the birth date) is read, as the sex, and found to be none: only P-7 (the name) and
    # P-10 (the sex) are fields nobody read.
    assert unread_fields(message, generic) == {("P", 7): 1, ("P", 10): 1}


def test_every_result_and_order_field_can_move() -> None:
    text = (
        "H|\\^&|||X\r"
        "P|1\r"
        "O|1|S1" + "|" * 24 + "F\r"  # O-27
        "R|1|9.5|^^^GLU|mmol/L||N||||F|||20260302101200\r"  # test and value swapped, F in R-11
        "L|1|N\r"
    )
    dialect = Dialect.model_validate(
        {
            "name": "moved",
            "description": "test",
            "result_fields": {"test": 4, "value": 3, "status": 11, "completed_at": 14},
            "order_fields": {"report_type": 27},
        }
    )
    (message,) = parse_transmission(text.encode())
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "moved", dialect)
    (observation,) = result.observations
    assert (observation.local_code.code, observation.value, observation.status) == (
        "GLU",
        9.5,
        "final",
    )
    assert observation.observed_at is not None
    assert result.status == "final"
    assert unread_fields(message, dialect) == {}


@pytest.mark.parametrize(
    "table",
    [
        {"patient_fields": {"name": 1}},  # field 1 is the type letter
        {"patient_fields": {"sex": 0}},
        {"result_fields": {"value": 100}},
        {"patient_fields": {"surname": 7}},  # unknown key
        {"patient_fields": {"ids": []}},
        {"order_fields": {"tests": 2.5}},
        {"ignored_fields": {"X": [3]}},  # not an E1394 record type
        {"ignored_fields": {"R": [0]}},
    ],
)
def test_bad_field_tables_are_refused_naming_the_file(tmp_path: Path, table: dict) -> None:  # type: ignore[type-arg]
    lines = ['description = "t"']
    for key, value in table.items():
        lines.append(f"[{key}]")
        for field, number in value.items():
            lines.append(f"{field} = {number!r}".replace("'", '"'))
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DialectError, match=r"bad\.toml"):
        dialect_from_file(path, "bad")


def test_ignored_fields_are_not_counted() -> None:
    path = RECORDS / "mindray_bc_style_cbc_vn_patient.astm"
    (message,) = parse_transmission(path.read_bytes())
    assert unread_fields(message, load_dialect("mindray-bc")) == {}
    # The same message under the CL immunoassay layout: O-15/O-16 are no longer known.
    assert unread_fields(message, load_dialect("mindray-cl")) == {("O", 15): 1, ("O", 16): 1}


def test_comments_count_only_where_the_mapping_drops_them() -> None:
    text = "H|\\^&\rC|1|I|after H|G\rP|1\rC|1|I|after P|G\rO|1|S\rC|1|I|kept|G\rL|1\r"
    (message,) = parse_transmission(text.encode())
    unread = unread_fields(message, load_dialect("generic"))
    # C-4 after H and P is not carried; after O it is. C-3 and C-5 are never read.
    assert unread == {("C", 3): 3, ("C", 4): 2, ("C", 5): 3}


_FIELD = st.text(st.sampled_from("ab^\\ 1"), max_size=4)


@given(st.lists(st.tuples(st.sampled_from("PORCQMLSZ"), st.lists(_FIELD, max_size=30)), max_size=8))
def test_unread_counts_only_filled_fields_of_known_record_types(
    records: list[tuple[str, list[str]]],
) -> None:
    lines = ["H|\\^&", *("|".join([kind, *fields]) for kind, fields in records)]
    (message, *_) = parse_transmission("\r".join(lines).encode())
    unread = unread_fields(message, load_dialect("generic"))
    filled = sum(
        1
        for r in message.records
        for raw in r.fields[2:]
        if raw.strip("^\\ ") and r.type in "HPORCQMLS"
    )
    assert sum(unread.values()) <= filled
    assert {kind for kind, _ in unread} <= set("HPORCQMLS")
    assert all(count > 0 and field >= 3 for (_, field), count in unread.items())


def test_a_record_with_thousands_of_fields_is_counted_in_bounded_time() -> None:
    text = "H|\\^&\rP|1|" + "|".join(["x"] * 20_000) + "\rL|1\r"
    (message,) = parse_transmission(text.encode())
    unread = unread_fields(message, load_dialect("generic"))
    assert sum(unread.values()) == 20_000 - 6  # the ids P-3 to P-5, name, birth date, sex


_NUMBER = st.integers(-5, 200)
_TABLE = st.dictionaries(
    st.sampled_from(["name", "birth_date", "sex", "ids", "mother"]),
    st.one_of(_NUMBER, st.lists(_NUMBER, max_size=3), st.text("ab ", max_size=3)),
    max_size=4,
)


def _valid(value: object) -> bool:
    numbers = value if isinstance(value, list) else [value]
    return bool(numbers) and all(isinstance(n, int) and 2 <= n <= 99 for n in numbers)


@given(_TABLE)
def test_any_patient_field_table_loads_in_range_or_is_refused(table: dict) -> None:  # type: ignore[type-arg]
    acceptable = all(
        key != "mother" and _valid(value) and (key == "ids") == isinstance(value, list)
        for key, value in table.items()
    )
    payload = {"name": "t", "description": "t", "patient_fields": table}
    if not acceptable:
        with pytest.raises(ValueError, match="patient_fields"):
            Dialect.model_validate(payload)
        return
    at = Dialect.model_validate(payload).patient_fields
    assert all(2 <= n <= 99 for n in (*at.ids, at.name, at.birth_date, at.sex))
