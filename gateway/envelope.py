"""The versioned JSON envelope every event travels in, and its sortable unique ids.

Envelope ids are ULIDs (:mod:`adapters.canonical.ulid`, re-exported here): they sort by creation
time as plain strings and need no coordination between gateways.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.canonical.events import CanonicalEvent
from adapters.canonical.ulid import UlidFactory

__all__ = [
    "ENVELOPE_SCHEMA",
    "ENVELOPE_VERSION",
    "Envelope",
    "RawMessage",
    "UlidFactory",
    "utc_now",
]

ENVELOPE_SCHEMA = "wardlink.envelope"
# Major.minor: consumers accept any minor of the major they know (docs/mqtt-contract.md).
ENVELOPE_VERSION = "1.1"


class RawMessage(BaseModel):
    """The device's message as received, for audit. Text when it decodes, else base64."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: Literal["text", "base64"]
    data: str

    @classmethod
    def from_bytes(cls, raw: bytes, text_encoding: str) -> RawMessage:
        try:
            return cls(encoding="text", data=raw.decode(text_encoding))
        except (UnicodeDecodeError, LookupError):
            return cls(encoding="base64", data=base64.b64encode(raw).decode("ascii"))


class Envelope(BaseModel):
    """One canonical event with its routing, ordering and audit facts."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_name: Literal["wardlink.envelope"] = Field(default="wardlink.envelope", alias="schema")
    schema_version: str = Field(default=ENVELOPE_VERSION, pattern=r"^1\.\d+$")
    id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="ULID, sortable")
    site: str
    ward: str
    gateway_id: str
    device_id: str
    device_kind: str
    seq: int = Field(
        ge=1, description="per-device sequence; a gap means the gateway refused an event"
    )
    device_time: datetime | None = Field(
        default=None,
        description="time the device stated (1.1: set whenever the message carries one; "
        "zone: the offset sent, else the device's timezone, else the gateway's); "
        "device clocks are often wrong",
    )
    received_at: datetime = Field(description="gateway clock when the message was received")
    payload: CanonicalEvent
    raw: RawMessage | None = None

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def utc_now() -> datetime:
    return datetime.now(UTC)
