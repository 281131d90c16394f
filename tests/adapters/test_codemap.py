"""Code maps: the hospital's CSV, lookup order, and errors a lab technician can act on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.codemap import CodeMap, CodeMapError, load_code_map, loinc_check_digit_ok

HEADER = "source,local_code,hospital_code,hospital_name,loinc,loinc_name,unit\n"
EXAMPLE = Path(__file__).resolve().parents[2] / "adapters/lis_analyzers/codemaps/example.csv"


def write(tmp_path: Path, body: str, *, header: str = HEADER, encoding: str = "utf-8") -> Path:
    path = tmp_path / "codes.csv"
    path.write_bytes((header + body).encode(encoding))
    return path


def test_source_specific_row_wins_over_the_any_row(tmp_path: Path) -> None:
    code_map = load_code_map(
        write(
            tmp_path,
            (
                "*,WBC,H17,Số lượng bạch cầu,6690-2,Leukocytes,10*9/L\n"
                "sysmex-xn,WBC,H17X,Bạch cầu (Sysmex),,,10*9/L\n"
            ),
        )
    )
    specific = code_map.lookup("sysmex-xn", "WBC")
    fallback = code_map.lookup("mindray-bc", "WBC")
    assert specific is not None
    assert (specific.hospital_code, specific.loinc) == ("H17X", None)
    assert fallback is not None
    assert (fallback.hospital_code, fallback.loinc) == ("H17", "6690-2")
    assert code_map.lookup("sysmex-xn", "RBC") is None
    assert len(code_map) == 2


def test_vietnamese_names_survive_comments_bom_blank_lines_and_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        (
            "# Bảng mã của khoa Xét nghiệm — ví dụ\n"
            "\n"
            '*,H02,H02,"Huyết sắc tố, máu toàn phần",718-7,Hemoglobin [Mass/volume] in Blood,g/L\n'
            "  # indented comment\n"
            "mindray-bs,1, XS001 ,Định lượng Glucose [Máu],2345-7,,mmol/L\n"
        ),
        header="\ufeff" + HEADER,
    )
    code_map = load_code_map(path)
    hb = code_map.lookup("x", "H02")
    glucose = code_map.lookup("mindray-bs", "1")
    assert hb is not None
    assert hb.hospital_name == "Huyết sắc tố, máu toàn phần"
    assert glucose is not None
    assert (glucose.hospital_code, glucose.hospital_name, glucose.loinc_name) == (
        "XS001",
        "Định lượng Glucose [Máu]",
        None,
    )


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "6690-2,WBC,*,,,,\n",
        header="loinc,local_code,source,hospital_code,hospital_name,loinc_name,unit\n",
    )
    entry = load_code_map(path).lookup("any", "WBC")
    assert entry is not None
    assert entry.loinc == "6690-2"


def test_an_empty_map_is_valid(tmp_path: Path) -> None:
    assert len(load_code_map(write(tmp_path, "", header="# nothing mapped yet\n"))) == 0
    assert len(load_code_map(write(tmp_path, ""))) == 0
    assert CodeMap.empty().lookup("x", "y") is None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("*,WBC,H17,,6690-2,,\nmindray,X,,,,,\n", ":3: column 3 (hospital_code): a row needs"),
        (",WBC,H17,,,,\n", ":2: column 1 (source): empty"),
        ("*, ,H17,,,,\n", ":2: column 2 (local_code): empty"),
        ("*,WBC,H17,,6690-3,,\n", ":2: column 5 (loinc): '6690-3' is not a LOINC code"),
        ("*,WBC,H17,,LP1234,,\n", ":2: column 5 (loinc)"),
        ("*,WBC,H17,,,\n", ":2: 6 cells, the header has 7"),
        ("# c\n*,WBC,H17,,,,\n*,WBC,H18,,,,\n", ":4: column 2 (local_code): duplicate of line 3"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path: Path, body: str, where: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(CodeMapError) as caught:
        load_code_map(path)
    assert str(caught.value).startswith(f"{path}{where}")


def test_bad_header_names_missing_and_unknown_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "", header="source,code,hospital_code,hospital_name,loinc,loinc_name\n")
    expected = r":1: header .*missing: local_code, unit; unknown: code"
    with pytest.raises(CodeMapError, match=expected):
        load_code_map(path)


def test_a_windows_1258_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "*,G1,XS001,Đơn,,,\n", encoding="cp1258")  # Đ, ơ: single bytes
    with pytest.raises(CodeMapError, match=r":2: not UTF-8"):
        load_code_map(path)


def test_a_missing_file_is_a_code_map_error(tmp_path: Path) -> None:
    with pytest.raises(CodeMapError, match="cannot read"):
        load_code_map(tmp_path / "absent.csv")


def test_the_example_map_loads_and_maps_the_corpus_codes() -> None:
    code_map = load_code_map(EXAMPLE)
    assert "EXAMPLE" in EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    wbc = code_map.lookup("mindray-bc", "6690-2")
    hba1c = code_map.lookup("boditech", "HbA1c")
    assert wbc is not None
    assert (wbc.hospital_code, wbc.loinc, wbc.unit) == ("H17", "6690-2", "10*9/L")
    assert hba1c is not None
    assert hba1c.loinc == "4548-4"
    assert all(e.loinc is None or loinc_check_digit_ok(e.loinc) for e in code_map.entries.values())


def test_the_map_is_immutable() -> None:
    code_map = load_code_map(EXAMPLE)
    with pytest.raises(TypeError):
        code_map.entries[("*", "new")] = next(iter(code_map.entries.values()))  # type: ignore[index]


@pytest.mark.parametrize(
    "code",
    ["6690-2", "789-8", "718-7", "4544-3", "777-3", "4548-4", "2345-7", "59261-8", "32623-1"],
)
def test_known_loinc_codes_pass_the_check_digit(code: str) -> None:
    assert loinc_check_digit_ok(code)


@given(st.integers(min_value=1, max_value=9_999_999), st.integers(min_value=1, max_value=9))
def test_changing_the_check_digit_breaks_it(number: int, shift: int) -> None:
    valid = next(f"{number}-{d}" for d in range(10) if loinc_check_digit_ok(f"{number}-{d}"))
    digit = (int(valid[-1]) + shift) % 10
    assert not loinc_check_digit_ok(f"{number}-{digit}")


NATIONAL_HEADER = HEADER.rstrip("\n") + ",national_code,national_name\n"


def test_the_national_code_column_is_optional_and_carried(tmp_path: Path) -> None:
    code_map = load_code_map(
        write(
            tmp_path,
            "*,RBC,H01,Số lượng hồng cầu,789-8,,10*12/L,1000001,Số lượng hồng cầu\n"
            "*,GLU,,,,,,1010001,Glucose\n"  # a national code alone is a mapping
            "*,WBC,H17,,6690-2,,,,\n",
            header=NATIONAL_HEADER,
        )
    )
    rbc, glu, wbc = (code_map.lookup("x", c) for c in ("RBC", "GLU", "WBC"))
    assert rbc is not None
    assert rbc.national is not None
    assert (rbc.national.code, rbc.national.system, rbc.national.display) == (
        "1000001",
        "VN-QD1227",
        "Số lượng hồng cầu",
    )
    assert glu is not None
    assert glu.national_code == "1010001"
    assert wbc is not None
    assert wbc.national is None
    # A map written before the column existed still loads, without national codes.
    old = load_code_map(write(tmp_path, "*,WBC,H17,,6690-2,,\n"))
    old_wbc = old.lookup("x", "WBC")
    assert old_wbc is not None
    assert old_wbc.national is None


@pytest.mark.parametrize("code", ["H17", "100001", "10000011", "1000-01", "\uff11" * 7])
def test_a_national_code_that_is_not_seven_digits_is_refused(tmp_path: Path, code: str) -> None:
    path = write(tmp_path, f"*,RBC,H01,,789-8,,,{code},\n", header=NATIONAL_HEADER)
    with pytest.raises(CodeMapError) as caught:
        load_code_map(path)
    assert str(caught.value).startswith(f"{path}:2: column 8 (national_code): ")


@given(st.text(max_size=12))
def test_any_national_cell_loads_or_is_refused_with_its_place(code: str) -> None:
    import tempfile  # noqa: PLC0415 - hypothesis and tmp_path do not mix

    # One cell on one line: no separators, quotes or line breaks (U+0085, U+2028 count too).
    cell = "".join(c for c in code if c.isprintable() and c not in ',"')
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory), f"*,RBC,H01,,,,,{cell},\n", header=NATIONAL_HEADER)
        if cell.strip() and not re.fullmatch("[0-9]{7}", cell.strip()):
            with pytest.raises(CodeMapError, match=":2: column 8 \\(national_code\\)"):
                load_code_map(path)
        else:
            entry = load_code_map(path).lookup("x", "RBC")
            assert entry is not None
            assert entry.national_code == (cell.strip() or None)


def test_a_device_row_beats_its_dialect_row_which_beats_the_any_row(tmp_path: Path) -> None:
    code_map = load_code_map(
        write(
            tmp_path,
            (
                "*,GLU,H0,Glucose (any),,,mmol/L\n"
                "mindray-bs,GLU,H1,Glucose (Mindray BS),,,mmol/L\n"
                "chem-2,GLU,H2,Glucose (chem-2),,,mmol/L\n"
            ),
        )
    )

    def hospital_code(device: str, dialect: str | None) -> str | None:
        entry = code_map.lookup(device, "GLU", dialect=dialect)
        return entry.hospital_code if entry is not None else None

    assert hospital_code("chem-2", "mindray-bs") == "H2"
    assert hospital_code("chem-1", "mindray-bs") == "H1"
    assert hospital_code("chem-1", "generic") == "H0"
    assert hospital_code("chem-1", None) == "H0"
