"""Regenerate the published JSON Schemas from the models."""

from pathlib import Path

from gateway.schemas import ENVELOPE_SCHEMA_FILE, generate_envelope_schema, render

target = Path(__file__).with_name(ENVELOPE_SCHEMA_FILE)
target.write_text(render(generate_envelope_schema()), encoding="utf-8")
print(f"wrote {target}")
