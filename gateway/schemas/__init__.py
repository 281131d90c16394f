"""Published JSON Schemas of the MQTT contract, generated from the pydantic models.

``python -m gateway.schemas`` (``make schemas``) rewrites the files; a test fails when the files
and the models drift apart, so the contract in the repo is always the one the code speaks.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

ENVELOPE_SCHEMA_FILE = "envelope-1.schema.json"


def _open_for_minor_versions(node: Any) -> None:
    """Drop ``additionalProperties: false`` so a 1.0 consumer accepts 1.x's added fields.

    The models forbid unknown fields (the producer must not send typos); the published
    contract must not, or adding an optional field would break every consumer.
    """
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
        for value in node.values():
            _open_for_minor_versions(value)
    elif isinstance(node, list):
        for value in node:
            _open_for_minor_versions(value)


def generate_envelope_schema() -> dict[str, Any]:
    from gateway.envelope import ENVELOPE_VERSION, Envelope  # noqa: PLC0415 - avoid a cycle

    schema = Envelope.model_json_schema(by_alias=True, mode="serialization")
    _open_for_minor_versions(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://wardlink.example/schemas/" + ENVELOPE_SCHEMA_FILE
    schema["description"] = (
        f"WardLink envelope, major version 1 (this file generated at {ENVELOPE_VERSION}). "
        "Consumers accept any 1.x; see docs/mqtt-contract.md."
    )
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_envelope_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(ENVELOPE_SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
