"""Fast validation of envelopes against the published JSON Schema.

The schema's payload is a ``oneOf`` over every event kind with an OpenAPI-style
``discriminator`` on ``kind``. Generic validators try every branch; since the kinds are distinct
constants, exactly one branch can match, so validating against the branch the discriminator
names is equivalent and several times cheaper. Unknown kinds fall back to the full schema, whose
error message then says that no branch matched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import fastjsonschema

from gateway.schemas import load_envelope_schema

Validator = Callable[[Any], Any]


class EnvelopeValidator:
    """Raises ``fastjsonschema.JsonSchemaException`` for a document the schema rejects."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        schema = schema or load_envelope_schema()
        # use_default=False: validation must never alter the document.
        self._full = fastjsonschema.compile(schema, use_default=False)
        payload = schema["properties"]["payload"]
        self._by_kind: dict[str, Validator] = {}
        for kind, ref in payload["discriminator"]["mapping"].items():
            narrowed = copy.deepcopy(schema)
            narrowed["properties"]["payload"] = {"$ref": ref}
            self._by_kind[kind] = fastjsonschema.compile(narrowed, use_default=False)

    def __call__(self, document: Any) -> None:
        payload = document.get("payload") if isinstance(document, dict) else None
        kind = payload.get("kind") if isinstance(payload, dict) else None
        validate = self._by_kind.get(kind) if isinstance(kind, str) else None
        (validate or self._full)(document)
