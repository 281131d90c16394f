"""The published JSON Schema is the one the models speak, and envelopes validate against it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator, ValidationError

from adapters.canonical.codes import CodedValue, Observation, PatientRef
from adapters.canonical.events import (
    Alarm,
    AlarmPriority,
    AlarmState,
    CanonicalEvent,
    DeviceState,
    DeviceStatus,
    EnvironmentReading,
    Identification,
    IdentificationSource,
    LabResult,
    QcResult,
    VitalSigns,
)
from gateway.envelope import Envelope, RawMessage, UlidFactory
from gateway.schemas import generate_envelope_schema, load_envelope_schema, render

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
GLUCOSE = Observation(
    local_code=CodedValue(code="GLU", system="local"),
    code=CodedValue(code="2345-7", system="LOINC"),
    value=5.4,
    unit="mmol/L",
    reference_range="3.9-6.1",
    flags=["N"],
)
EVENTS: list[CanonicalEvent] = [
    LabResult(
        specimen_id="SP1", patient=PatientRef(id="P1", name="Nguyễn Văn A"), observations=[GLUCOSE]
    ),
    QcResult(
        role="control",
        evidence=["SPM-4=QC3"],
        specimen_id="QC3-LOT-2026-07",
        control="QC3",
        level="3",
        observations=[GLUCOSE],
    ),
    VitalSigns(bed="07", observations=[GLUCOSE], measured_at=NOW),
    Alarm(priority=AlarmPriority.HIGH, state=AlarmState.START, text="HR high", value=150),
    Identification(source=IdentificationSource.BARCODE, data="SP1"),
    EnvironmentReading(quantity=CodedValue(code="temp", system="local"), value=4.5, unit="Cel"),
    DeviceStatus(state=DeviceState.CONNECTED),
    # Absent values (an analyzer's unmeasured parameter, a control without specimen id) are
    # omitted from the JSON; the schema must not require them.
    LabResult(
        specimen_id=None,
        observations=[Observation(local_code=CodedValue(code="BASO#", system="local"))],
    ),
]


def envelope(payload: CanonicalEvent, raw: bytes | None = None) -> Envelope:
    return Envelope(
        id=UlidFactory().new(),
        site="s",
        ward="w",
        gateway_id="g",
        device_id="d",
        device_kind="k",
        seq=1,
        received_at=NOW,
        payload=payload,
        raw=None if raw is None else RawMessage.from_bytes(raw, "utf-8"),
    )


def test_published_schema_matches_the_models() -> None:
    # Fails when a model changes without `make schemas`: the contract in the repo would lie.
    assert render(load_envelope_schema()) == render(generate_envelope_schema())


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.kind}-{EVENTS.index(e)}")
def test_every_event_kind_validates_in_an_envelope(event: CanonicalEvent) -> None:
    import json  # noqa: PLC0415

    document = json.loads(envelope(event, raw=b"H|\\^&\r").to_json_bytes())
    Draft202012Validator(load_envelope_schema()).validate(document)
    assert Envelope.model_validate(document) == envelope(event).model_copy(
        update={"id": document["id"], "raw": RawMessage(encoding="text", data="H|\\^&\r")}
    )


def test_schema_rejects_an_envelope_without_id() -> None:
    import json  # noqa: PLC0415

    document = json.loads(envelope(EVENTS[0]).to_json_bytes())
    del document["id"]
    with pytest.raises(ValidationError):
        Draft202012Validator(load_envelope_schema()).validate(document)


def test_ids_sort_in_creation_order_and_never_repeat() -> None:
    factory = UlidFactory()
    ids = [factory.new(now_s=1_795_000_000.0 + i // 100) for i in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000


def test_raw_bytes_that_are_not_text_travel_as_base64() -> None:
    raw = RawMessage.from_bytes(b"\x02\xff\xfe\x03", "utf-8")
    assert raw.encoding == "base64"
    assert raw.data == "Av/+Aw=="


def test_a_later_minor_version_with_an_added_field_still_validates() -> None:
    import json  # noqa: PLC0415

    document = json.loads(envelope(EVENTS[0]).to_json_bytes())
    document["schema_version"] = "1.7"
    document["triage_level"] = "red"
    document["payload"]["observations"][0]["dilution_factor"] = "1:10"
    Draft202012Validator(load_envelope_schema()).validate(document)


def test_ulid_encoding_matches_the_bitwise_definition() -> None:
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    factory = UlidFactory()
    for i in range(200):
        ulid = factory.new(now_s=1_795_000_000.0 + i)
        value = sum(crockford.index(c) << (5 * (25 - n)) for n, c in enumerate(ulid))
        assert value >> 80 == (1_795_000_000 + i) * 1000
        assert "".join(crockford[(value >> s) & 31] for s in range(125, -1, -5)) == ulid


def _mutations(document: dict[str, object]) -> list[dict[str, object]]:
    import copy  # noqa: PLC0415

    mutated = []
    for path, value in [
        (("payload", "kind"), "not_a_kind"),
        (("payload", "kind"), 7),
        (("seq",), 0),
        (("seq",), "1"),
        (("received_at",), None),
        (("payload",), []),
    ]:
        doc = copy.deepcopy(document)
        target = doc
        for key in path[:-1]:
            target = target[key]  # type: ignore[assignment]
        target[path[-1]] = value
        mutated.append(doc)
    doc = copy.deepcopy(document)
    del doc["payload"]
    mutated.append(doc)
    return mutated


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.kind}-{EVENTS.index(e)}")
def test_fast_validator_agrees_with_the_reference_validator(event: CanonicalEvent) -> None:
    import json  # noqa: PLC0415

    from fastjsonschema import JsonSchemaException  # noqa: PLC0415

    from gateway.central.validation import EnvelopeValidator  # noqa: PLC0415

    fast, reference = EnvelopeValidator(), Draft202012Validator(load_envelope_schema())
    document = json.loads(envelope(event).to_json_bytes())
    fast(document)
    assert reference.is_valid(document)
    for bad in _mutations(document):
        assert not reference.is_valid(bad), bad
        with pytest.raises(JsonSchemaException):
            fast(bad)
