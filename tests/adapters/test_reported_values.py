"""Values exactly as reported (ADR 0014) and the context that tells observations apart.

Synthetic fixtures: tests/corpus/values/ (SOURCES.md there); shared corpus samples when present.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.astm.dialect import load_dialect
from adapters.astm.records import parse_transmission
from adapters.canonical.codes import CodedValue, Observation, Ratio, ValueKind
from adapters.canonical.events import LabResult, VitalSigns
from adapters.canonical.numbers import AMBIGUOUS_DECIMAL
from adapters.codemap import CodeMap, load_code_map
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from adapters.monitors.pcd import monitor_events_from_hl7

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "tests" / "corpus" / "values"
SHARED = REPO.parent / "shared" / "corpus"
EXAMPLE_MAP = REPO / "adapters" / "lis_analyzers" / "codemaps" / "example.csv"


def hl7_lab(name: str, *, decimal_comma: bool) -> LabResult:
    message = parse_message((VALUES / name).read_bytes())
    (result,) = lab_results_from_hl7(message, CodeMap.empty(), "x", decimal_comma=decimal_comma)
    assert isinstance(result, LabResult)
    return result


def by_code(observations: list[Observation]) -> dict[str, Observation]:
    return {o.local_code.code: o for o in observations}


def reading(o: Observation) -> tuple[str, ValueKind, str | None, str | None]:
    assert o.reported is not None
    number = o.reported.decimal
    return (
        o.reported.text,
        o.reported.kind,
        None if number is None else str(number),
        (o.reported.comparator),
    )


def test_a_decimal_comma_analyzer_keeps_its_text_and_gives_exact_numbers() -> None:
    rows = by_code(hl7_lab("oru_r01_comma_decimals_synthetic.hl7", decimal_comma=True).observations)
    assert reading(rows["PH"]) == ("7,41", ValueKind.NUMBER, "7.41", None)
    assert reading(rows["WBC"]) == ("8,60", ValueKind.NUMBER, "8.60", None)
    assert reading(rows["NA"]) == ("138", ValueKind.NUMBER, "138", None)
    assert reading(rows["CRP"]) == ("<^0,5", ValueKind.NUMBER, "0.5", "<")
    # A point on a decimal-comma device may be a thousands separator: flagged, not read.
    assert reading(rows["CHOL"]) == ("5.20", ValueKind.TEXT, None, None)
    assert AMBIGUOUS_DECIMAL in rows["CHOL"].flags
    assert AMBIGUOUS_DECIMAL not in rows["PH"].flags


def test_without_the_setting_a_comma_is_flagged_never_guessed() -> None:
    rows = by_code(
        hl7_lab("oru_r01_comma_decimals_synthetic.hl7", decimal_comma=False).observations
    )
    for code in ("PH", "WBC", "CRP"):
        reported = rows[code].reported
        assert reported is not None
        assert reported.kind is ValueKind.TEXT
        assert reported.decimal is None
        assert AMBIGUOUS_DECIMAL in rows[code].flags
    assert reading(rows["CHOL"]) == ("5.20", ValueKind.NUMBER, "5.20", None)
    assert rows["CHOL"].value == 5.2  # schema 1.0's value is unchanged


def test_titers_coded_values_method_and_equipment() -> None:
    rows = by_code(hl7_lab("oru_r01_comma_decimals_synthetic.hl7", decimal_comma=True).observations)
    ana = rows["ANA"].reported
    assert ana is not None
    assert (ana.text, ana.kind, ana.decimal) == ("^1^:^160", ValueKind.RATIO, None)
    assert ana.ratio == Ratio(numerator=Decimal(1), denominator=Decimal(160))
    hcg = rows["HCGQ"].reported
    assert hcg is not None
    assert hcg.kind is ValueKind.CODED
    assert hcg.coded == CodedValue(code="NEG", system="L", display="negativ")
    assert rows["PH"].method == CodedValue(
        code="ISE", system="L", display="Ion-selective electrode"
    )
    assert rows["PH"].equipment == [
        CodedValue(code="AN100", system="EUROLAB"),
        CodedValue(code="SN4711", system="EUROLAB"),
    ]
    assert rows["NA"].equipment is None


def astm_lab(*, decimal_comma: bool, dialect: str = "generic") -> LabResult:
    (message,) = parse_transmission((VALUES / "astm_comma_decimals_synthetic.astm").read_bytes())
    (result,) = lab_results_from_astm(
        message, CodeMap.empty(), "x", load_dialect(dialect), decimal_comma=decimal_comma
    )
    assert isinstance(result, LabResult)
    return result


def test_astm_comma_values_and_r14_modules() -> None:
    rows = by_code(astm_lab(decimal_comma=True).observations)
    assert reading(rows["GLU"]) == ("5,4", ValueKind.NUMBER, "5.4", None)
    assert reading(rows["K"]) == ("4,15", ValueKind.NUMBER, "4.15", None)
    assert reading(rows["TSH"]) == ("<0,005", ValueKind.NUMBER, "0.005", "<")
    assert rows["GLU"].equipment == [CodedValue(code="MOD1", system="astm-r14")]
    assert rows["TSH"].equipment == [CodedValue(code="MOD2", system="astm-r14")]
    unset = by_code(astm_lab(decimal_comma=False).observations)
    assert unset["K"].reported is not None
    assert unset["K"].reported.kind is ValueKind.TEXT
    assert AMBIGUOUS_DECIMAL in unset["K"].flags


def test_two_spo2_channels_stay_apart() -> None:
    message = parse_message((VALUES / "oru_r01_pcd01_two_spo2_channels_synthetic.hl7").read_bytes())
    (event,) = monitor_events_from_hl7(message)
    assert isinstance(event, VitalSigns)
    spo2 = [o for o in event.observations if o.local_code.code == "150456"]
    assert [(o.sub_id, o.reported.text if o.reported else None) for o in spo2] == [
        ("1.3.1", "97"),
        ("1.3.2", "94.0"),
    ]
    assert spo2[1].reported is not None
    assert str(spo2[1].reported.decimal) == "94.0"
    assert spo2[0].method == CodedValue(code="AMEAS", system="MDC", display="auto-measurement")
    assert spo2[0].equipment == [CodedValue(code="0012345678ABCDEF", system="EUI-64")]


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    return path


def test_rack_position_and_instrument_of_an_architect_corpus_message() -> None:
    path = shared("astm_abbott_architect_c_chemistry_exp_high_flags.astm")
    dialect = load_dialect("abbott-architect")
    results = [
        r
        for m in parse_transmission(path.read_bytes())
        for r in lab_results_from_astm(m, CodeMap.empty(), "x", dialect)
    ]
    # O|1|1012515377|1012515377^A035^3| and R-14 c402830 (a c-series module serial).
    assert (results[0].rack, results[0].position) == ("A035", "3")
    assert results[0].observations[0].equipment == [CodedValue(code="c402830", system="astm-r14")]


def test_rack_and_position_of_a_roche_order_keep_their_digits() -> None:
    # The O-4 layout of the corpus's H7600 QC message: seq^rack^pos^^type^container.
    raw = (
        b"H|\\^&|||H7600^1|||||host|RSUPL^BATCH|P|1\r"
        b"P|1\r"
        b"O|1|SPC0003|4030^30064^064^^S1^SC|^^^798/|R\r"
        b"R|1|^^^798/|4.60|mmol/l||N||F||ADMIN |||P1\r"
        b"L|1|N\r"
    )
    (message,) = parse_transmission(raw)
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "x", load_dialect("roche-cobas"))
    assert (result.rack, result.position) == ("30064", "064")
    assert result.observations[0].equipment == [CodedValue(code="P1", system="astm-r14")]
    assert result.observations[0].reported is not None
    assert str(result.observations[0].reported.decimal) == "4.60"


def test_the_national_code_travels_with_a_mapped_observation() -> None:
    code_map = load_code_map(EXAMPLE_MAP)
    message = parse_message(
        b"MSH|^~\\&|BC|LAB|||20261122083000+0700||ORU^R01|N1|P|2.5.1\r"
        b"OBR|1||SPC9\r"
        b"OBX|1|NM|789-8^RBC^LN||4.50|10*12/L|||||F\r"
        b"OBX|2|NM|XYZ^Unknown^L||1.0||||||F\r"
    )
    (result,) = lab_results_from_hl7(message, code_map, "mindray-bc")
    rbc, unknown = result.observations
    assert rbc.national_code == CodedValue(
        code="1000001", system="VN-QD1227", display="Số lượng hồng cầu"
    )
    assert unknown.national_code is None
    assert unknown.unmapped


def test_a_dialect_can_declare_decimal_commas() -> None:
    (message,) = parse_transmission((VALUES / "astm_comma_decimals_synthetic.astm").read_bytes())
    european = load_dialect("generic").model_copy(update={"decimal_comma": True})
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "x", european)
    assert reading(by_code(result.observations)["K"]) == ("4,15", ValueKind.NUMBER, "4.15", None)


def test_equipment_without_a_namespace_takes_the_universal_id_type() -> None:
    # OBX-18 as the corpus's Mindray VS900 writes it: no namespace, EUI-64 as universal id type.
    message = parse_message(
        b"MSH|^~\\&|VS900|MR|||20261122083000+0700||ORU^R01|E1|P|2.6\r"
        b"OBR|1|||182777000^monitoring of patient^SCT\r"
        b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|98|262688^MDC_DIM_PERCENT^MDC"
        b"|||||R|||||||00A0370098007A80^^00A0370098007A80^EUI-64\r"
    )
    (event,) = monitor_events_from_hl7(message)
    assert isinstance(event, VitalSigns)
    assert event.observations[0].equipment == [CodedValue(code="00A0370098007A80", system="EUI-64")]
