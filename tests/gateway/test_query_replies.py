"""Which broker messages reach a device, what is counted, and what the log says (never PHI)."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest

from gateway.forwarding.broker_inbox import BrokerInbox
from gateway.forwarding.broker_input import SIGNATURE_PROPERTY, reply_signature
from gateway.forwarding.query_desk import QueryDesk
from gateway.forwarding.topics import Topics
from gateway.metrics import Metrics

TOPICS = Topics("wardlink", "test-site", "icu-1", "gw-1")
KEY = b"c" * 32
PATIENT = "NGUYEN VAN FORGED"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Props:
    def __init__(self, signature: str) -> None:
        self.UserProperty = [(SIGNATURE_PROPERTY, signature)]


def reply(query_id: str) -> bytes:
    order = {"specimen_id": "S1", "tests": ["GLU"], "patient": {"name": PATIENT}}
    return json.dumps({"query_id": query_id, "orders": [order]}).encode()


def rejected(metrics: Metrics) -> dict[str, float]:
    counts = {}
    for line in generate_latest(metrics.registry).decode().splitlines():
        if line.startswith("wardlink_broker_input_rejected_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split("{", 1)[1].rstrip("}")] = float(value)
    return counts


async def no_acks(_ids: list[str]) -> None:
    pass


def make(clock: Clock, key: bytes | None = None) -> tuple[BrokerInbox, QueryDesk, Metrics]:
    metrics = Metrics()
    desk = QueryDesk(clock)
    inbox = BrokerInbox(TOPICS, metrics, on_acked=no_acks, desk=desk, reply_key=key, clock=clock)
    return inbox, desk, metrics


async def test_only_the_asking_device_gets_its_answer_once_in_its_window() -> None:
    clock = Clock()
    inbox, desk, metrics = make(clock)
    first = desk.expect("analyzer-1", "Q1", timeout_s=8)
    late = desk.expect("analyzer-1", "Q2", timeout_s=8)
    await inbox.handle(TOPICS.query_reply("analyzer-2"), reply("Q1"))  # another device's topic
    await inbox.handle(TOPICS.query_reply("analyzer-1"), reply("Q9"))  # nobody asked Q9
    assert not first.done()
    await inbox.handle(TOPICS.query_reply("analyzer-1"), reply("Q1"))
    assert first.result().query_id == "Q1"
    await inbox.handle(TOPICS.query_reply("analyzer-1"), reply("Q1"))  # the second answer
    clock.now += 8.5
    await inbox.handle(TOPICS.query_reply("analyzer-1"), reply("Q2"))  # past its window
    assert not late.done()
    assert rejected(metrics) == {
        'reason="wrong_device",topic_kind="query_reply"': 1,
        'reason="unexpected",topic_kind="query_reply"': 3,
    }


async def test_with_a_key_only_the_centres_signature_for_that_topic_is_taken() -> None:
    clock = Clock()
    inbox, desk, metrics = make(clock, KEY)
    answer = desk.expect("analyzer-1", "Q1", timeout_s=8)
    topic = TOPICS.query_reply("analyzer-1")
    other_topic = TOPICS.query_reply("analyzer-2")
    await inbox.handle(topic, reply("Q1"))
    await inbox.handle(topic, reply("Q1"), Props(reply_signature(b"x" * 32, topic, reply("Q1"))))
    await inbox.handle(topic, reply("Q1"), Props(reply_signature(KEY, other_topic, reply("Q1"))))
    assert not answer.done()
    await inbox.handle(topic, reply("Q1"), Props(reply_signature(KEY, topic, reply("Q1"))))
    assert answer.result().orders[0].patient is not None
    assert rejected(metrics) == {
        'reason="unsigned",topic_kind="query_reply"': 1,
        'reason="bad_signature",topic_kind="query_reply"': 2,
    }


async def test_a_flood_of_forgeries_logs_one_line_a_minute_without_their_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    inbox, _, metrics = make(clock)
    caplog.set_level(logging.DEBUG)
    for n in range(1000):
        await inbox.handle(TOPICS.query_reply(f"{PATIENT}-{n}"), reply(f"{PATIENT}-{n}"))
    clock.now += 61
    await inbox.handle(TOPICS.query_reply("analyzer-1"), reply(PATIENT))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "dropped a broker message on query_reply: unexpected",
        "dropped a broker message on query_reply: unexpected (and 999 more like it since)",
    ]
    assert rejected(metrics) == {'reason="unexpected",topic_kind="query_reply"': 1001}


@given(st.binary(max_size=500), st.text(max_size=30))
async def test_any_message_on_any_topic_is_answered_never_raises(payload: bytes, tail: str) -> None:
    inbox, desk, _ = make(Clock())
    desk.expect("analyzer-1", "Q1", timeout_s=8)
    for topic in (TOPICS.ack, TOPICS.query_reply(tail), f"{TOPICS.base}/{tail}"):
        await inbox.handle(topic, payload)
