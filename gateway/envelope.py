"""The versioned JSON envelope every event travels in, and its sortable unique ids.

Envelope ids are ULIDs: 48 bits of milliseconds then 80 random bits in Crockford base32, so they
sort by creation time as plain strings and need no coordination between gateways. Within one
millisecond the random part is incremented, keeping ids from one gateway strictly increasing.
"""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.canonical.events import CanonicalEvent

ENVELOPE_SCHEMA = "wardlink.envelope"
# Major.minor: consumers accept any minor of the major they know (docs/mqtt-contract.md).
ENVELOPE_VERSION = "1.1"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two base32 digits per lookup: 10 bits at a time halves the Python-level work.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]


def _encode(value: int, digits: int) -> str:
    return "".join(_PAIRS[(value >> shift) & 1023] for shift in range(digits * 5 - 10, -1, -10))


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
        default=None, description="time the device stated; device clocks are often wrong"
    )
    received_at: datetime = Field(description="gateway clock when the message was received")
    payload: CanonicalEvent
    raw: RawMessage | None = None

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


class UlidFactory:
    """Monotonic ULIDs for one process."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_rand = 0
        self._time_digits = ""

    def new(self, now_s: float | None = None) -> str:
        ms = int((time.time() if now_s is None else now_s) * 1000)
        if ms <= self._last_ms:
            rand = (self._last_rand + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(os.urandom(10), "big")
            self._last_ms, self._time_digits = ms, _encode(ms, 10)
        self._last_rand = rand
        # 10 digits of milliseconds (48 bits, 2 leading zero bits), 16 of randomness (80 bits).
        return self._time_digits + _encode(rand, 16)


def utc_now() -> datetime:
    return datetime.now(UTC)
