"""The decoders of broker input (acks, query replies): bounded, total, and exact on good input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.canonical.orders import OrderReply
from gateway.forwarding.broker_input import (
    MAX_ACK_BYTES,
    MAX_DEPTH,
    MAX_REPLY_BYTES,
    Reason,
    Refused,
    check_signature,
    decode_ack,
    decode_query_reply,
    nesting_exceeds,
    reply_signature,
)

ULIDS = st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)
TEXT = st.text(max_size=40)  # any unicode, brackets and quotes included
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=30,
)
ORDERS = st.fixed_dictionaries(
    {
        "specimen_id": TEXT.filter(bool),
        "tests": st.lists(TEXT, min_size=1, max_size=5),
        "priority": st.sampled_from("SARCP"),
    },
    optional={
        "patient": st.fixed_dictionaries({}, optional={"id": TEXT, "name": TEXT, "sex": TEXT}),
        "specimen_type": TEXT,
    },
)
REPLIES = st.fixed_dictionaries(
    {"query_id": TEXT.filter(bool), "orders": st.lists(ORDERS, max_size=4)}
)


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


def true_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(true_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(true_depth, value.values()), default=0)
    return 0


# -- totality: whatever the bytes, a decoder answers; it never raises -------------------------
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    assert isinstance(decode_ack(data), list | Refused)
    assert isinstance(decode_query_reply(data), OrderReply | Refused)


@given(JSON_VALUES)
def test_any_json_value_is_an_ack_only_in_its_one_shape(value: object) -> None:
    decoded = decode_ack(json.dumps(value).encode())
    if isinstance(decoded, list):
        assert isinstance(value, dict)
        assert decoded == value["ids"]
    else:
        assert decoded.reason in (Reason.BAD_SHAPE, Reason.TOO_DEEP)


@given(st.integers(MAX_DEPTH + 1, 200_000), st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_deep_nesting_is_refused_before_parsing(depth: int, brackets: tuple[bytes, bytes]) -> None:
    opener, closer = brackets
    body = opener * depth + b"1" + closer * depth
    unclosed = opener * depth  # cut before the first closer: still too deep, never parsed
    for payload in (b'{"ids":' + body + b"}", body, unclosed):
        ack, reply = decode_ack(payload), decode_query_reply(payload)
        assert isinstance(ack, Refused)
        assert ack.reason in (Reason.TOO_DEEP, Reason.TOO_LARGE)
        assert isinstance(reply, Refused)
        assert reply.reason in (Reason.TOO_DEEP, Reason.TOO_LARGE)


def test_the_reported_poison_is_refused_as_too_deep() -> None:
    poison = b'{"ids":' + nested(100_000) + b"}"
    assert decode_ack(poison) == Refused(Reason.TOO_DEEP)


@given(JSON_VALUES)
def test_depth_scan_agrees_with_the_parser(value: object) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    for limit in range(6):
        assert nesting_exceeds(data, limit) == (true_depth(value) > limit)


@given(st.text(alphabet='[]{}"\\ab', max_size=300))
def test_depth_scan_never_underestimates_what_json_accepts(text: str) -> None:
    # Any text json.loads accepts nests exactly as deep as the scan says.
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return
    assert nesting_exceeds(text.encode(), 3) == (true_depth(value) > 3)


def test_brackets_inside_strings_are_not_structure() -> None:
    ids = ["[" * 60, "{" * 60 + '\\"[[', "]]]"]
    assert decode_ack(json.dumps({"ids": ids}).encode()) == ids


# -- size and shape -------------------------------------------------------------------------
def test_oversized_messages_are_refused_whatever_they_hold() -> None:
    ack = json.dumps({"ids": ["01JDE0M4W9Y6F2H8K3N5P7Q1RT"] * 10_000}).encode()
    assert len(ack) > MAX_ACK_BYTES
    assert decode_ack(ack) == Refused(Reason.TOO_LARGE)
    reply = json.dumps({"query_id": "q", "orders": [], "pad": "x" * MAX_REPLY_BYTES}).encode()
    assert decode_query_reply(reply) == Refused(Reason.TOO_LARGE)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", Reason.NOT_JSON),
        (b'{"ids": ["a"', Reason.NOT_JSON),
        (b"\xff\xfe{}", Reason.NOT_JSON),
        ('{"ids": ["a"]}'.encode("utf-16"), Reason.NOT_JSON),  # the contract says UTF-8
        (b'{"ids": [' + b"9" * 5000 + b"]}", Reason.NOT_JSON),  # past int's digit limit
        (b'["a"]', Reason.BAD_SHAPE),
        (b'{"ids": "a"}', Reason.BAD_SHAPE),
        (b'{"ids": [1]}', Reason.BAD_SHAPE),
        (b'{"ids": [""]}', Reason.BAD_SHAPE),
        (b'{"ids": ["' + b"a" * 65 + b'"]}', Reason.BAD_SHAPE),
        (b'{"id": ["a"]}', Reason.BAD_SHAPE),
    ],
)
def test_malformed_acks_are_refused_with_their_reason(payload: bytes, reason: Reason) -> None:
    assert decode_ack(payload) == Refused(reason)


@given(st.lists(ULIDS, max_size=600))
def test_every_ack_the_reference_consumer_sends_decodes_exactly(ids: list[str]) -> None:
    assert decode_ack(json.dumps({"ids": ids}).encode()) == ids


@given(REPLIES)
def test_every_well_formed_reply_decodes_exactly(reply: dict[str, object]) -> None:
    decoded = decode_query_reply(json.dumps(reply, ensure_ascii=False).encode())
    assert decoded == OrderReply.model_validate(reply)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"query_id": 7, "orders": []}',
        b'{"query_id": "", "orders": []}',
        b'{"orders": []}',
        b'{"query_id": "q", "orders": {}}',
        b'{"query_id": "q", "orders": [{"specimen_id": "s", "tests": []}]}',
        b'{"query_id": "q", "orders": [{"specimen_id": "s", "tests": ["A"], "priority": "X"}]}',
        b'{"query_id": "q", "orders": [{"specimen_id": "s", "tests": [1]}]}',
        b"[]",
        b"null",
    ],
)
def test_malformed_replies_are_refused_as_bad_shape(payload: bytes) -> None:
    assert decode_query_reply(payload) == Refused(Reason.BAD_SHAPE)


@given(st.binary(max_size=300))
def test_a_refusal_reason_never_carries_payload_text(data: bytes) -> None:
    for decoded in (decode_ack(data), decode_query_reply(data)):
        if isinstance(decoded, Refused):
            assert decoded.reason in set(Reason)


# -- signatures -----------------------------------------------------------------------------
KEY = b"k" * 32
TOPIC = "wardlink/test-site/icu-1/gw-1/query-reply/analyzer-1"


@given(st.binary(max_size=500))
def test_the_centres_signature_verifies_and_any_change_does_not(payload: bytes) -> None:
    signature = reply_signature(KEY, TOPIC, payload)
    assert check_signature(KEY, TOPIC, payload, signature) is None
    assert check_signature(KEY, TOPIC, payload, signature.upper()) is None
    other_topic = TOPIC.replace("analyzer-1", "analyzer-2")
    assert check_signature(KEY, other_topic, payload, signature) is Reason.BAD_SIGNATURE
    assert check_signature(KEY, TOPIC, payload + b" ", signature) is Reason.BAD_SIGNATURE
    assert check_signature(b"x" * 32, TOPIC, payload, signature) is Reason.BAD_SIGNATURE
    assert check_signature(KEY, TOPIC, payload, None) is Reason.UNSIGNED


@given(st.text(max_size=100))
def test_any_signature_text_is_answered_never_raises(signature: str) -> None:
    assert check_signature(KEY, TOPIC, b"{}", signature) is Reason.BAD_SIGNATURE
