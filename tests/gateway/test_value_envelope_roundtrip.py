"""Acceptance 1 and 5 of issue 12: numbers survive codec, envelope JSON and a 1.0 consumer.

For any numeric text an analyzer can send (point or comma, leading and trailing zeros,
comparators, exponents), the event carries the exact text and the right Decimal, and a real
envelope serialised and parsed back carries them unchanged; the JSON validates against the 1.0
schema (as published at 1.0, kept in tests/gateway/schemas_reference/) and the current one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from adapters.astm.dialect import load_dialect
from adapters.astm.records import parse_transmission
from adapters.canonical.codes import ValueKind
from adapters.canonical.events import CanonicalEvent, LabResult
from adapters.canonical.numbers import AMBIGUOUS_DECIMAL, read_structured, read_value
from adapters.codemap import CodeMap
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from gateway.envelope import Envelope, UlidFactory
from gateway.schemas import load_envelope_schema

SCHEMA_1_0 = json.loads(
    (Path(__file__).parent / "schemas_reference" / "envelope-1.0.schema.json").read_text("utf-8")
)
NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
IDS = UlidFactory()


@st.composite
def numeric_texts(draw: st.DrawFn) -> tuple[str, Decimal, str | None, str]:
    """(text, expected Decimal, comparator, separator) built from parts, not by parsing."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.text("0123456789", min_size=1, max_size=12))  # leading zeros allowed
    fraction = draw(st.one_of(st.none(), st.text("0123456789", min_size=0, max_size=9)))
    exponent = draw(st.one_of(st.none(), st.integers(-30, 30)))
    separator = draw(st.sampled_from([".", ","]))
    comparator = draw(st.sampled_from([None, "<", ">", "<=", ">=", "="]))
    space = draw(st.sampled_from(["", " "])) if comparator else ""
    text = sign + whole + ("" if fraction is None else separator + fraction)
    if exponent is not None:
        e = draw(st.sampled_from(["E", "e"]))
        shown = draw(st.sampled_from([str(exponent), f"{exponent:+d}"]))
        text += e + shown
    digits = tuple(int(d) for d in whole + (fraction or ""))
    expected = Decimal((sign == "-", digits, (exponent or 0) - len(fraction or "")))
    return (comparator or "") + space + text, expected, comparator, separator


def envelope(event: CanonicalEvent) -> Envelope:
    return Envelope(
        id=IDS.new(),
        site="s",
        ward="w",
        gateway_id="g",
        device_id="d",
        device_kind="astm-analyzer",
        seq=1,
        device_time=NOW,
        received_at=NOW,
        payload=event,
    )


def through_the_wire(result: LabResult) -> tuple[LabResult, dict[str, Any]]:
    document = json.loads(envelope(result).to_json_bytes())
    Draft202012Validator(SCHEMA_1_0).validate(document)
    Draft202012Validator(load_envelope_schema()).validate(document)
    back = Envelope.model_validate(document).payload
    assert isinstance(back, LabResult)
    assert back == result
    return back, document


def hl7_result(obx5: str, value_type: str, decimal_comma: bool) -> LabResult:
    message = parse_message(
        b"MSH|^~\\&|AN|LAB|||20261122083000+0700||ORU^R01|P1|P|2.5.1\rOBR|1||SPC1\r"
        + f"OBX|1|{value_type}|GLU^Glucose^L||{obx5}|mmol/L|||||F\r".encode()
    )
    (result,) = lab_results_from_hl7(message, CodeMap.empty(), "x", decimal_comma=decimal_comma)
    assert isinstance(result, LabResult)
    return result


def astm_result(r4: str, decimal_comma: bool) -> LabResult:
    raw = (
        b"H|\\^&|||AN^1|||||||P|1\rP|1\rO|1|SPC1||^^^GLU\r"
        + f"R|1|^^^GLU|{r4}|mmol/L||N||F\rL|1|N\r".encode()
    )
    (message,) = parse_transmission(raw)
    generic = load_dialect("generic")
    (result,) = lab_results_from_astm(
        message, CodeMap.empty(), "x", generic, decimal_comma=decimal_comma
    )
    assert isinstance(result, LabResult)
    return result


def check(
    result: LabResult, text: str, expected: Decimal, comparator: str | None, ok: bool
) -> None:
    back, document = through_the_wire(result)
    (observation,) = back.observations
    reported = observation.reported
    assert reported is not None
    if ok:
        assert reported.kind is ValueKind.NUMBER
        assert reported.decimal is not None
        assert reported.decimal.as_tuple() == expected.as_tuple()  # digits and exponent, not ==
        assert reported.comparator == comparator
        # On the wire a string in Decimal notation, never a JSON number.
        wire = document["payload"]["observations"][0]["reported"]["decimal"]
        assert isinstance(wire, str)
        assert Decimal(wire).as_tuple() == expected.as_tuple()
        assert AMBIGUOUS_DECIMAL not in observation.flags
    else:
        assert reported.kind is ValueKind.TEXT
        assert reported.decimal is None
        assert AMBIGUOUS_DECIMAL in observation.flags


@settings(max_examples=300, deadline=None)
@given(numeric_texts(), st.booleans())
def test_hl7_numbers_keep_their_text_and_exact_decimal(
    case: tuple[str, Decimal, str | None, str], decimal_comma: bool
) -> None:
    text, expected, comparator, separator = case
    readable = separator == ("," if decimal_comma else ".") or not any(s in text for s in ".,")
    if comparator is None:
        result = hl7_result(text, "NM", decimal_comma)
        sent = text
    else:
        sn = text.replace(" ", "").replace(comparator, comparator + "^", 1)
        result = hl7_result(sn, "SN", decimal_comma)
        sent = sn
    (observation,) = result.observations
    assert observation.reported is not None
    assert observation.reported.text == sent
    check(result, sent, expected, comparator, readable)


@settings(max_examples=300, deadline=None)
@given(numeric_texts(), st.booleans())
def test_astm_numbers_keep_their_text_and_exact_decimal(
    case: tuple[str, Decimal, str | None, str], decimal_comma: bool
) -> None:
    text, expected, comparator, separator = case
    readable = separator == ("," if decimal_comma else ".") or not any(s in text for s in ".,")
    result = astm_result(text, decimal_comma)
    (observation,) = result.observations
    assert observation.reported is not None
    assert observation.reported.text == text
    check(result, text, expected, comparator, readable)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.booleans())
def test_any_text_is_kept_and_only_whole_numbers_are_read(text: str, decimal_comma: bool) -> None:
    reported, flags = read_value(text, decimal_comma=decimal_comma)
    assert reported.text == text.strip()
    if reported.kind is ValueKind.NUMBER:
        assert reported.decimal is not None
        assert reported.decimal.is_finite()
    else:
        assert reported.decimal is None
    assert flags in ([], [AMBIGUOUS_DECIMAL])


def test_hostile_values_never_become_numbers_they_are_not() -> None:
    for text in ["NaN", "Infinity", "-inf", "1e", "1..2", "0x1F", "1 000", "1,234.5", "٣", "12:30"]:
        reported, _ = read_value(text)
        assert reported.kind is not ValueKind.NUMBER, text
    huge = "9" * 5000 + ".5E+999999"
    result = astm_result(huge, decimal_comma=False)
    back, _ = through_the_wire(result)
    assert back.observations[0].reported is not None
    assert back.observations[0].reported.text == huge
    assert back.observations[0].value == huge  # 1.0's float would be infinite: kept as text
    assert read_value("1:40")[0].kind is ValueKind.RATIO


COMPONENT = st.one_of(
    st.sampled_from(
        ["", "<", ">=", "=", "<>", ":", "/", "-", "+", "1", "40", "0,5", "2.50", "1E3"]
    ),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMPONENT, max_size=6), st.booleans())
def test_any_structured_number_is_read_or_kept_as_text(
    components: list[str], decimal_comma: bool
) -> None:
    reported, flags = read_structured(components, decimal_comma=decimal_comma)
    assert reported.text == "^".join(components).rstrip("^").strip()
    assert (reported.decimal is not None) == (reported.kind is ValueKind.NUMBER)
    assert (reported.ratio is not None) == (reported.kind is ValueKind.RATIO)
    assert flags in ([], [AMBIGUOUS_DECIMAL])
