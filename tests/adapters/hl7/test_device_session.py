"""The HL7/MLLP device session, sans-IO: bytes and times in, bytes and store requests out."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.canonical.events import CanonicalEvent
from adapters.codemap import CodeMap
from adapters.hl7.device_session import Hl7DeviceSession, Mapper
from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.hl7_reader import AnalyzerReader
from adapters.lis_analyzers.kind import Hl7AnalyzerOptions
from adapters.mllp import Frame, MllpReceiver, encode_frame
from adapters.session import EndConnection, Rejected, SessionOutput, Store

OPTIONS = Hl7AnalyzerOptions(read_timeout_s=30.0, timezone="Asia/Ho_Chi_Minh")
POSITIVE = {"AA", "CA"}


def oru(control_id: str, message_type: str = "ORU^R01", msh7: str = "20260101120000") -> bytes:
    return (
        f"MSH|^~\\&|AN|LAB|||{msh7}||{message_type}|{control_id}|P|2.5.1\r"
        f"OBR|1||SPC-{control_id}|GLU\rOBX|1|NM|GLU^Glucose||5.4|mmol/L|||||F\r"
    ).encode()


def lab_mapper() -> Mapper:
    reader = AnalyzerReader("an-1", "auto", CodeMap.empty(), "peer", local_zone=ZoneInfo("UTC"))
    return lambda message, _now: reader(message)


def session(mapper: Mapper | None = None) -> Hl7DeviceSession:
    return Hl7DeviceSession("an-1", "peer", OPTIONS, "utf-8", mapper or lab_mapper())


def answers(out: list[bytes]) -> list[tuple[str, str, str]]:
    """(MSA-1, MSA-2, MSA-3) of every ACK in what the session sent."""
    found = []
    for frame in MllpReceiver().receive_data(b"".join(out)):
        assert isinstance(frame, Frame)
        msa = parse_message(frame.payload).first("MSA")
        assert msa is not None
        found.append((msa.text(1), msa.text(2), msa.text(3)))
    return found


def stores(outputs: list[SessionOutput]) -> list[Store]:
    return [o for o in outputs if isinstance(o, Store)]


def test_no_aa_leaves_before_the_commit_and_acks_keep_message_order() -> None:
    s = session()
    s.receive_data(encode_frame(oru("M1")) + encode_frame(oru("M2")), now=0.0)
    first, second = stores(s.outputs())
    assert first.events
    assert s.data_to_send() == []
    s.stored(second.ticket, None)
    assert s.data_to_send() == []  # M2's AA waits behind M1's answer
    s.stored(first.ticket, None)
    assert [a[:2] for a in answers(s.data_to_send())] == [("AA", "M1"), ("AA", "M2")]


def test_a_refused_commit_is_answered_ar_not_stored() -> None:
    s = session()
    s.receive_data(encode_frame(oru("M1")), now=0.0)
    (store,) = stores(s.outputs())
    s.stored(store.ticket, "store full")
    ((code, control_id, text),) = answers(s.data_to_send())
    assert (code, control_id) == ("AR", "M1")
    assert "not stored: store full" in text


def test_the_store_names_the_message_key_raw_and_device_time_in_the_device_zone() -> None:
    s = session()
    raw = oru("K-7", msh7="20260305081500")
    s.receive_data(encode_frame(raw), now=0.0)
    (store,) = stores(s.outputs())
    assert store.raw == raw
    assert store.message_key == f"K-7/{hashlib.sha256(raw).hexdigest()}"
    assert store.device_time == datetime(2026, 3, 5, 8, 15, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def test_an_unaccepted_message_type_is_answered_ar_and_counted() -> None:
    s = session()
    raw = oru("Q1", message_type="ADT^A01")
    s.receive_data(encode_frame(raw), now=0.0)
    assert s.outputs() == [Rejected("unsupported message type ADT^A01", raw)]
    assert answers(s.data_to_send()) == [("AR", "Q1", "unsupported message type ADT^A01")]


def test_unmappable_content_is_answered_ae_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_message: Message, _now: float) -> list[CanonicalEvent]:
        raise ValueError("a reader bug")

    s = session(broken)
    raw = oru("U1")
    with caplog.at_level(logging.ERROR):
        s.receive_data(encode_frame(raw), now=0.0)
    assert s.outputs() == [Rejected("unmappable content", raw)]
    assert answers(s.data_to_send()) == [("AE", "U1", "message content could not be read")]


def test_bad_framing_is_answered_and_rejected_at_once() -> None:
    s = session()
    s.receive_data(b"garbage\r\n" + encode_frame(oru("G1")), now=0.0)
    outputs = s.outputs()
    assert isinstance(outputs[0], Rejected)
    assert isinstance(outputs[1], Store)
    assert [a[0] for a in answers(s.data_to_send())] == ["AR"]  # G1's AA still held


def test_a_started_message_has_one_deadline_from_its_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = session()
    framed = encode_frame(oru("SLOW"))
    assert s.next_deadline() is None  # idle: the loop's business
    s.receive_data(framed[:5], now=100.0)
    assert s.next_deadline() == 130.0
    s.receive_data(framed[5:10], now=120.0)
    assert s.next_deadline() == 130.0  # trickling does not buy time
    s.handle_timeout(now=129.0)
    assert s.outputs() == []
    with caplog.at_level(logging.WARNING):
        s.handle_timeout(now=130.0)
    assert s.outputs() == [EndConnection("message_deadline")]
    assert s.data_to_send() == []  # dropped unanswered: the sender resends
    assert "not complete within 30 s; dropped, connection closed" in caplog.text


def test_the_next_message_gets_its_own_deadline_and_a_complete_one_none() -> None:
    s = session()
    first, second = encode_frame(oru("A")), encode_frame(oru("B"))
    s.receive_data(first[:-3], now=0.0)
    s.receive_data(first[-3:] + second[:4], now=20.0)
    assert s.next_deadline() == 50.0
    s.receive_data(second[4:], now=21.0)
    assert s.next_deadline() is None


@st.composite
def hostile_stream(draw: st.DrawFn) -> bytes:
    """Valid, truncated, foreign-type and garbage frames, with loose bytes between them."""
    parts = []
    for n in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["ok", "type", "cut", "junk", "bytes"]))
        if kind == "ok":
            parts.append(encode_frame(oru(f"C{n}")))
        elif kind == "type":
            parts.append(encode_frame(oru(f"C{n}", message_type="ORM^O01")))
        elif kind == "cut":
            framed = encode_frame(oru(f"C{n}"))
            parts.append(framed[: draw(st.integers(0, len(framed) - 1))])
        elif kind == "junk":  # block bytes inside included: encode_frame would refuse them
            parts.append(b"\x0b" + draw(st.binary(max_size=80)) + b"\x1c\r")
        else:
            parts.append(draw(st.binary(max_size=40)))
    return b"".join(parts)


@settings(max_examples=200, deadline=None)
@given(
    data=hostile_stream(),
    cuts=st.lists(st.integers(1, 64), max_size=40),
    gaps=st.lists(st.floats(0.0, 20.0), max_size=40),
    verdicts=st.lists(st.sampled_from([None, "refused", "held"]), max_size=12),
)
def test_hostile_trickled_bytes_never_raise_nor_get_an_aa_without_a_commit(
    data: bytes, cuts: list[int], gaps: list[float], verdicts: list[str | None]
) -> None:
    s = session()
    committed: set[str] = set()
    sent: list[bytes] = []
    now, position, chunks, pauses = 0.0, 0, iter(cuts), iter(gaps)
    verdict = iter(verdicts)
    ended = False
    while position < len(data) and not ended:
        size = next(chunks, len(data))
        s.receive_data(data[position : position + size], now)
        position += size
        now += next(pauses, 1.0)
        deadline = s.next_deadline()
        if deadline is not None and deadline <= now:
            s.handle_timeout(now)
        for output in s.outputs():
            ended = ended or isinstance(output, EndConnection)
            if not isinstance(output, Store):
                continue
            choice = next(verdict, None)
            if choice != "held":
                s.stored(output.ticket, choice)
            if choice is None:
                assert output.raw is not None
                committed.add(parse_message(output.raw).control_id)
        sent += s.data_to_send()
    positive = {control_id for code, control_id, _ in answers(sent) if code in POSITIVE}
    assert positive <= committed
