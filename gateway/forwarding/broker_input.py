"""Bounded decoders for everything the broker hands the gateway (acks, query replies).

Pure functions, no I/O: a payload is bytes from anyone who can publish on the broker, so it is
checked for size and nesting depth *before* ``json.loads`` may recurse (a ``{"ids":`` followed by
100,000 ``[`` raised ``RecursionError`` and took the forwarder down, issue 11), then for shape.
Every refusal carries one :class:`Reason` from a fixed set, safe as a metric label and in a log
line: no decoder ever puts payload text into the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate

from pydantic import ValidationError

from adapters.canonical.orders import OrderReply

MAX_ACK_BYTES = 256 * 1024
"""About 8,800 envelope ids (the reference consumer sends at most ~500 per message)."""
MAX_ACK_IDS = 10_000
MAX_ID_CHARS = 64
MAX_REPLY_BYTES = 64 * 1024
MAX_DEPTH = 16
"""An ack nests 2 deep and a query reply 4; nothing the centre sends needs more."""

SIGNATURE_PROPERTY = "wardlink-hmac-sha256"
"""MQTT 5 user property holding a query reply's signature (docs/mqtt-contract.md)."""


class Reason(StrEnum):
    """Why a broker message was dropped; the values are metric labels."""

    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    NOT_JSON = "not_json"
    BAD_SHAPE = "bad_shape"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    UNEXPECTED = "unexpected"
    """A query reply for no open query: never asked, already answered, or past its window."""
    WRONG_DEVICE = "wrong_device"
    UNKNOWN_TOPIC = "unknown_topic"


@dataclass(frozen=True)
class Refused:
    reason: Reason


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: every match attempt succeeds, so
``sub`` never rescans (an unterminated string cannot restart the search at every quote)."""
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = [0] * 256
for _opener in b"[{":
    _DEPTH_STEP[_opener] = 1
for _closer in b"]}":
    _DEPTH_STEP[_closer] = -1


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether JSON ``data`` nests arrays/objects deeper than ``limit``, brackets in strings aside.

    Linear in ``len(data)`` and run in C: strings are cut out, the brackets left become +1/-1
    steps, and the deepest running sum is the depth.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case costs two counts
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def _bounded_json(data: bytes, max_bytes: int) -> object | Refused:
    """Parse UTF-8 JSON of at most ``max_bytes`` and :data:`MAX_DEPTH` levels."""
    if len(data) > max_bytes:
        return Refused(Reason.TOO_LARGE)
    if nesting_exceeds(data, MAX_DEPTH):
        return Refused(Reason.TOO_DEEP)
    try:
        parsed: object = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # ValueError covers JSONDecodeError, huge ints
        return Refused(Reason.NOT_JSON)
    return parsed


def decode_ack(data: bytes) -> list[str] | Refused:
    """An end-to-end ack, ``{"ids": ["<envelope id>", ...]}``; other keys are ignored."""
    parsed = _bounded_json(data, MAX_ACK_BYTES)
    if isinstance(parsed, Refused):
        return parsed
    ids = parsed.get("ids") if isinstance(parsed, dict) else None
    if not isinstance(ids, list) or len(ids) > MAX_ACK_IDS:
        return Refused(Reason.BAD_SHAPE)
    if not all(isinstance(i, str) and 0 < len(i) <= MAX_ID_CHARS for i in ids):
        return Refused(Reason.BAD_SHAPE)
    return ids


def decode_query_reply(data: bytes) -> OrderReply | Refused:
    """A centre's :class:`OrderReply` (shape only: whether anyone asked is the desk's call)."""
    if len(data) > MAX_REPLY_BYTES:
        return Refused(Reason.TOO_LARGE)
    if nesting_exceeds(data, MAX_DEPTH):
        return Refused(Reason.TOO_DEEP)
    try:
        return OrderReply.model_validate_json(data, strict=True)
    except ValidationError as exc:
        not_json = any(error["type"] == "json_invalid" for error in exc.errors())
        return Refused(Reason.NOT_JSON if not_json else Reason.BAD_SHAPE)


def reply_signature(key: bytes, topic: str, payload: bytes) -> str:
    """Hex HMAC-SHA256 over ``topic``, a newline and the payload: a signature is for one topic."""
    return hmac.new(key, topic.encode() + b"\n" + payload, hashlib.sha256).hexdigest()


def check_signature(key: bytes, topic: str, payload: bytes, signature: str | None) -> Reason | None:
    """``None`` when ``signature`` is the centre's for this topic and payload."""
    if signature is None:
        return Reason.UNSIGNED
    expected = reply_signature(key, topic, payload).encode()
    if not hmac.compare_digest(expected, signature.lower().encode(errors="replace")):
        return Reason.BAD_SIGNATURE
    return None
