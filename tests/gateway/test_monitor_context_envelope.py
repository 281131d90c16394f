"""Monitor context of schema 1.1 on the wire: coded vitals, alarm sub-id and equipment.

Each event goes into an envelope's JSON, validates against the published schema and the 1.0
schema (kept in tests/gateway/schemas_reference/), and reads back equal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from adapters.canonical.events import CanonicalEvent
from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from gateway.envelope import Envelope, UlidFactory
from gateway.schemas import load_envelope_schema

SCHEMA_1_0 = json.loads(
    (Path(__file__).parent / "schemas_reference" / "envelope-1.0.schema.json").read_text("utf-8")
)
MONITORS = Path(__file__).resolve().parents[1] / "corpus" / "monitors"
NOW = datetime(2026, 3, 1, 3, 15, tzinfo=UTC)


def events(name: str) -> list[CanonicalEvent]:
    return list(monitor_events_from_hl7(parse_message((MONITORS / name).read_bytes())))


@pytest.mark.parametrize(
    "name",
    ["oru_r01_coded_posture_vent_mode_device_rows.hl7", "oru_r40_two_spo2_channels_equipment.hl7"],
)
def test_monitor_context_travels_and_validates_for_1_0_and_1_1_consumers(name: str) -> None:
    found = events(name)
    assert found
    for event in found:
        sent = Envelope(
            id=UlidFactory().new(),
            site="s",
            ward="w",
            gateway_id="g",
            device_id="d",
            device_kind="hl7-monitor",
            seq=1,
            received_at=NOW,
            payload=event,
        )
        document = json.loads(sent.to_json_bytes())
        Draft202012Validator(SCHEMA_1_0).validate(document)
        Draft202012Validator(load_envelope_schema()).validate(document)
        assert Envelope.model_validate(document) == sent
        payload = document["payload"]
        if payload["kind"] == "alarm":
            assert payload["sub_id"].startswith("1.3.")
            assert payload["equipment"][0]["system"] == "EUI-64"
        else:
            kinds = [o["reported"]["kind"] for o in payload["observations"]]
            assert kinds == ["coded", "number", "coded"]
