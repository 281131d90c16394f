"""LIS1-A link layer, receiver role: corpus streams, NAKs, duplicates and the held final ACK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.astm.frames import encode_frames
from adapters.astm.link import AstmLink
from adapters.astm.link_events import (
    FrameRejected,
    LinkEstablished,
    LinkReleased,
    LinkTimedOut,
    MessageReceived,
)
from adapters.astm.link_line import State
from tests.adapters.astm.test_frames import LOCAL, corpus_frames, shared

ENQ, ACK, NAK, EOT = b"\x05", b"\x06", b"\x15", b"\x04"
H, P, L = b"H|\\^&|||WLSIM^1", b"P|1", b"L|1|N"


def oracle_records(stream: bytes) -> list[bytes]:
    text = b"".join(body[1:-1] for body, _sum, _trailer in corpus_frames(stream))
    return [record for record in text.split(b"\r") if record]


def received(link: AstmLink) -> list[MessageReceived]:
    return [e for e in link.events() if isinstance(e, MessageReceived)]


def frame(record: bytes, fn: int) -> bytes:
    [only] = encode_frames(record, fn)
    return only


def established() -> AstmLink:
    link = AstmLink()
    link.receive_data(ENQ, 0.0)
    assert link.data_to_send() == ACK
    assert link.events() == [LinkEstablished("receiver")]
    return link


def run_stream(stream: bytes, chunk: int) -> tuple[AstmLink, MessageReceived]:
    """Feed all but the final EOT, accept, then EOT; check every answer on the way."""
    link = AstmLink()
    body = stream.removesuffix(EOT)
    for start in range(0, len(body), chunk):
        link.receive_data(body[start : start + chunk], 1.0)
    [message] = received(link)
    assert message.held
    answered = link.data_to_send()
    assert set(answered) == {ACK[0]}
    assert len(answered) == len(corpus_frames(stream))  # ENQ and every frame but the last
    assert link.state.value == "holding"
    link.accept(message.message_id)
    assert link.data_to_send() == ACK
    link.receive_data(EOT, 2.0)
    assert link.data_to_send() == b""
    assert link.state.value == "idle"
    return link, message


SHARED_STREAMS = [
    "astm_phadia_results_framed_sender_stream.bin",
    "astm_long_record_etb_split_sender_stream.bin",
    "astm_roche_cobas_u411_urine_sender_stream.bin",
    "astm_roche_urisys1100_urine_sender_stream.bin",
    "astm_roche_hitachi_h7600_qc_multirecord_frames_etb_midfield.bin",
    "astm_roche_cobas_u311_tsreq_realtime_host_query.bin",
]


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
@pytest.mark.parametrize("name", SHARED_STREAMS)
def test_shared_sender_streams_yield_their_records(name: str, chunk: int) -> None:
    stream = shared(name)
    _link, message = run_stream(stream, chunk)
    assert message.records == oracle_records(stream)
    assert message.records[0].startswith(b"H|")
    assert message.records[-1].startswith(b"L|")


def test_phadia_stream_matches_the_unframed_message() -> None:
    _link, message = run_stream(shared("astm_phadia_results_framed_sender_stream.bin"), 5)
    unframed = shared("astm_phadia_immunocap_lis2_results.astm")
    assert message.records == [r for r in unframed.split(b"\r") if r]


@pytest.mark.parametrize("path", sorted(LOCAL.glob("*sender_stream.bin")), ids=lambda p: p.name)
def test_local_sender_streams_yield_their_records(path: Path) -> None:
    stream = path.read_bytes()
    _link, message = run_stream(stream, 3)
    assert message.records == oracle_records(stream)


def test_aqualink_whole_message_in_one_frame_per_session() -> None:
    stream = shared("astm_aqualink_a9000p_query_response_results_single_frame.bin")
    frames = [
        stream[i : stream.index(b"\r\n", i) + 2] for i in range(len(stream)) if stream[i] == 2
    ]
    link = AstmLink()
    for number, one in enumerate(frames):
        link.receive_data(ENQ + one, float(number))
        [message] = received(link)
        assert link.data_to_send() == ACK
        assert message.records[-1].startswith(b"L|1|")
        link.accept(message.message_id)
        link.receive_data(EOT, float(number))
        assert link.data_to_send() == ACK
    assert len(frames) == 3


def test_final_ack_waits_for_accept() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(P, 2), 1.0)
    assert link.data_to_send() == ACK + ACK
    link.receive_data(frame(L, 3), 2.0)
    [message] = received(link)
    assert (message.records, message.held) == ([H, P, L], True)
    assert link.data_to_send() == b""
    link.accept(message.message_id)
    assert link.data_to_send() == ACK
    with pytest.raises(ValueError, match="unknown or already answered"):
        link.accept(message.message_id)


def test_reject_naks_and_the_resent_final_frame_is_a_new_message() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(P, 2) + frame(L, 3), 1.0)
    [first] = received(link)
    assert link.data_to_send() == ACK + ACK
    link.reject(first.message_id)
    assert link.data_to_send() == NAK
    link.receive_data(frame(L, 3), 2.0)
    [second] = received(link)
    assert second.message_id != first.message_id
    assert (second.records, second.raw) == (first.records, first.raw)
    assert link.data_to_send() == b""
    link.accept(second.message_id)
    assert link.data_to_send() == ACK


def test_bad_checksum_naks_then_the_retransmission_is_accepted() -> None:
    link = established()
    good = frame(H, 1)
    link.receive_data(good[:-4] + b"00\r\n", 1.0)
    assert link.data_to_send() == NAK
    assert link.events() == [FrameRejected("bad checksum", good[:-4] + b"00\r")]
    link.receive_data(good, 2.0)
    assert link.data_to_send() == ACK


@pytest.mark.parametrize("fn", [2, 0, 7])
def test_wrong_frame_number_naks(fn: int) -> None:
    link = established()
    link.receive_data(frame(H, fn), 1.0)
    assert link.data_to_send() == NAK
    assert link.events() == [FrameRejected(f"frame number {fn}, expected 1", frame(H, fn)[:-1])]


def test_duplicate_frame_is_acked_and_dropped() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(H, 1) + frame(L, 2), 1.0)
    assert link.data_to_send() == ACK + ACK
    [message] = received(link)
    assert message.records == [H, L]


def test_resent_final_frame_while_holding_is_ignored() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(L, 2), 1.0)
    [message] = received(link)
    link.receive_data(frame(L, 2), 16.0)
    assert received(link) == []
    link.accept(message.message_id)
    assert link.data_to_send() == ACK + ACK


def test_eot_while_holding_detaches_and_enq_is_busy_until_resolved() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(L, 2), 1.0)
    [message] = received(link)
    link.receive_data(EOT + ENQ, 16.0)
    assert link.data_to_send() == ACK + NAK
    link.reject(message.message_id)
    assert link.data_to_send() == b""
    link.receive_data(ENQ, 30.0)
    assert link.data_to_send() == ACK


def test_records_without_l_are_delivered_at_eot_unheld() -> None:
    link = established()
    link.receive_data(frame(H, 1) + frame(P, 2) + EOT, 1.0)
    [message] = received(link)
    assert (message.records, message.held) == ([H, P], False)
    link.accept(message.message_id)
    assert link.data_to_send() == ACK + ACK


def test_receiver_times_out_after_30_s_and_discards_the_partial_message() -> None:
    link = established()
    assert link.next_deadline() == 30.0
    link.receive_data(frame(H, 1), 10.0)
    assert link.next_deadline() == 40.0
    link.handle_timeout(39.9)
    assert link.state is State.RECEIVING
    link.events()
    link.handle_timeout(40.0)
    assert link.events() == [LinkTimedOut("receiver", "frame or EOT")]
    assert (link.state, link.next_deadline()) == (State.IDLE, None)
    link.receive_data(EOT, 41.0)
    assert received(link) == []


def test_events_of_a_session() -> None:
    link = established()
    link.receive_data(b"\xff" + frame(H, 1) + frame(L, 2), 1.0)
    events = link.events()
    assert [type(e) for e in events] == [FrameRejected, MessageReceived]
    link.accept(1)
    link.receive_data(EOT, 2.0)
    assert link.events() == [LinkReleased("receiver")]


def test_transcript_nak_contention_interrupt_replayed_as_host() -> None:
    lines = shared("astm_session_transcript_nak_contention_interrupt.jsonl").splitlines()
    steps = [(row["dir"], bytes.fromhex(row["hex"])) for row in map(json.loads, lines)]
    link, now, sent = AstmLink(), 0.0, b""
    for direction, data in steps:
        if direction == "instr":
            now += 1.0
            if data.endswith(b"\x03E5\r\n"):  # the host wants to stop the instrument (§8.3.5)
                link.interrupt()
            link.receive_data(data, now)
            for message in received(link):
                link.accept(message.message_id)
            sent += link.data_to_send()
        elif data == ENQ:  # the host has a query answer to send
            link.send_message([H, L], now)
            sent += link.data_to_send()
        assert direction == "instr" or sent.startswith(data), (direction, data, sent)
        if direction == "host":
            sent = sent.removeprefix(data)
    assert sent == b""
