from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hl7.parse import parse_message
from adapters.hl7.session import Hl7Session, MessageReceived, MessageRejected
from adapters.mllp import Frame, MllpReceiver, encode_frame
from tests.adapters.hl7.conftest import fixture_bytes


def oru(control_id: str, commit: str = "", application: str = "") -> bytes:
    return (
        f"MSH|^~\\&|DEV|FAC|||20260101120000||ORU^R01^ORU_R01|{control_id}|P|2.6|||"
        f"{commit}|{application}||UNICODE UTF-8\rOBX|1|NM|150456^SPO2^MDC||97\r"
    ).encode()


def acks(session: Hl7Session) -> list[tuple[str, str]]:
    frames = MllpReceiver().receive_data(session.data_to_send())
    out = []
    for frame in frames:
        assert isinstance(frame, Frame)
        msa = parse_message(frame.payload).first("MSA")
        assert msa is not None
        out.append((msa.text(1), msa.text(2)))
    return out


def received(session: Hl7Session) -> list[MessageReceived]:
    events = session.events()
    assert all(isinstance(e, MessageReceived) for e in events)
    return [e for e in events if isinstance(e, MessageReceived)]


@pytest.mark.parametrize(
    ("commit", "application", "on_accept", "on_reject"),
    [
        ("", "", ["AA"], ["AR"]),
        ("AL", "NE", ["CA"], ["CR"]),  # PCD-01
        ("NE", "AL", ["AA"], ["AR"]),  # IHE LAW
        ("AL", "AL", ["CA", "AA"], ["CR", "AR"]),
        ("ER", "SU", ["AA"], ["CR"]),
        ("", "2", ["AA"], ["AR"]),  # Mindray BS result kind: original mode
    ],
)
def test_ack_modes(
    commit: str, application: str, on_accept: list[str], on_reject: list[str]
) -> None:
    session = Hl7Session()
    session.receive_data(encode_frame(oru("1", commit, application)))
    session.receive_data(encode_frame(oru("2", commit, application)))
    first, second = received(session)
    assert session.data_to_send() == b""  # nothing positive before accept
    session.accept(first.message_id)
    session.reject(second.message_id, "AR", "message type not handled", 200)
    assert acks(session) == [(c, "1") for c in on_accept] + [(c, "2") for c in on_reject]


def test_order_kept_when_accepted_in_reverse() -> None:
    session = Hl7Session()
    session.receive_data(encode_frame(oru("A")) + encode_frame(oru("B")))
    first, second = received(session)
    session.accept(second.message_id)
    assert session.data_to_send() == b""
    session.accept(first.message_id)
    assert acks(session) == [("AA", "A"), ("AA", "B")]
    with pytest.raises(ValueError, match="already answered"):
        session.accept(first.message_id)


def test_refusals_are_answered_at_once_but_in_order() -> None:
    session = Hl7Session(max_message_bytes=400, default_encoding="utf-8")
    undecodable = fixture_bytes("oru_r01_vn_name_cp1258_mislabelled_utf8.hl7")
    session.receive_data(
        encode_frame(oru("OK1"))
        + b"JUNK"
        + encode_frame(oru("BIG") + b"NTE|1||" + b"x" * 400 + b"\r")
        + encode_frame(undecodable)
    )
    events = session.events()
    assert isinstance(events[0], MessageReceived)
    rejected = [e for e in events if isinstance(e, MessageRejected)]
    assert [e.ack_code for e in rejected] == ["AR", "AR", "AE"]
    assert "not valid utf-8" in rejected[2].reason
    assert rejected[2].raw == undecodable
    assert session.data_to_send() == b""  # held behind the unanswered OK1
    session.accept(events[0].message_id)
    assert acks(session) == [("AA", "OK1"), ("AR", ""), ("AR", "BIG"), ("AE", "VN-1258-2")]


def test_abandoned_partial_frame_is_reported_not_answered() -> None:
    session = Hl7Session()
    session.receive_data(b"\x0b" + oru("R")[:20] + encode_frame(oru("R")))
    rejected, message = session.events()
    assert isinstance(rejected, MessageRejected)
    assert isinstance(message, MessageReceived)
    session.accept(message.message_id)
    assert acks(session) == [("AA", "R")]


def test_reject_code_is_checked() -> None:
    session = Hl7Session()
    session.receive_data(encode_frame(oru("1")))
    (message,) = received(session)
    with pytest.raises(ValueError, match="AE or AR"):
        session.reject(message.message_id, "AA", "no")  # type: ignore[arg-type]


# Issue 11, defect 7: an MSH salvaged from bytes outside a frame is answered, and whatever it
# holds never makes the answer unframeable (it used to raise in encode_frame and end the
# connection, so the valid message after it was never answered).
STRAY_HEADERS = [
    b"MSH|^~\\&|DEV|FAC|||20260101||ORU^R01|STRAY\x1c\r",
    b"MSH|^~\\&|DEV\x0b|FAC|||20260101||ORU^R01|STRAY\r",
    b"MSH\x1c^~\\&\x1cDEV\x1cFAC\x1c\x1c\x1c20260101\x1c\x1cORU^R01\x1cSTRAY\r",
    b"MSH|\x0b~\\&|DEV|FAC|||20260101||ORU^R01|STRAY|P\x1c2.5\r",
]


@pytest.mark.parametrize("stray", STRAY_HEADERS)
def test_block_bytes_in_a_stray_header_do_not_end_the_connection(stray: bytes) -> None:
    session = Hl7Session()
    session.receive_data(stray + encode_frame(oru("GOOD1")))
    events = session.events()
    assert isinstance(events[0], MessageRejected)
    assert isinstance(events[-1], MessageReceived)
    for event in events:
        if isinstance(event, MessageReceived):
            session.accept(event.message_id)
    assert acks(session)[-1] == ("AA", "GOOD1")


@given(st.binary(max_size=400), st.sampled_from([b"", b"MSH|^~\\&|", b"\x0bMSH|^~\\&|"]))
def test_any_bytes_before_a_message_are_answered_in_valid_frames(noise: bytes, head: bytes) -> None:
    session = Hl7Session(max_message_bytes=300)
    session.receive_data(head + noise + b"\x1c\r" + encode_frame(oru("LAST")))
    for event in session.events():
        if isinstance(event, MessageReceived):
            session.accept(event.message_id)
    out = session.data_to_send()
    frames = MllpReceiver().receive_data(out)
    assert all(isinstance(frame, Frame) for frame in frames)
    assert b"".join(encode_frame(f.payload) for f in frames if isinstance(f, Frame)) == out
    last = parse_message(frames[-1].payload if isinstance(frames[-1], Frame) else b"")
    msa = last.first("MSA")
    assert msa is not None
    assert (msa.text(1), msa.text(2)) == ("AA", "LAST")
