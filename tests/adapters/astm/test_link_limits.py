"""Issue 11, defects 3 and 6: a framed message is bounded in frames, bytes and time.

Before the fix a message that never sent its L record was ACKed frame after frame without end
(memory to 300 MB, a 28 MB envelope forwarded at EOT), and a sender trickling a frame every
29 s kept a message open for as long as it liked.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.astm.dialect_link import HOST, LinkConfig
from adapters.astm.frames import encode_frame
from adapters.astm.link import AstmLink
from adapters.astm.link_events import FrameRejected, LinkTimedOut, MessageReceived
from adapters.astm.link_line import State

ENQ, ACK, NAK, EOT = b"\x05", b"\x06", b"\x15", b"\x04"
RESULT = b"R|1|^^^GLU|5.4|mmol/L||N||F\r"


def open_link(config: LinkConfig) -> AstmLink:
    link = AstmLink(config)
    link.receive_data(ENQ, 0.0)
    assert link.data_to_send() == ACK
    link.events()
    return link


def test_a_message_over_the_frame_limit_is_nacked_and_never_delivered() -> None:
    link = open_link(dataclasses.replace(HOST, max_message_frames=50))
    answers = bytearray()
    for n in range(60):  # result records, never an L
        link.receive_data(encode_frame((n + 1) % 8, RESULT, final=True), 1.0)
        answers += link.data_to_send()
    assert bytes(answers[:50]) == ACK * 50
    assert bytes(answers[50:]) == NAK * 10  # the 51st frame and every one after it
    rejected = [e for e in link.events() if isinstance(e, FrameRejected)]
    assert [e.reason for e in rejected] == ["message over 50 frames: refused (NAK)"]
    assert 0 < len(rejected[0].raw) <= 4096
    link.receive_data(EOT, 2.0)
    assert not [e for e in link.events() if isinstance(e, MessageReceived)]
    assert link.state is State.IDLE


def test_a_message_over_the_byte_limit_is_nacked_and_never_delivered() -> None:
    link = open_link(dataclasses.replace(HOST, max_message_bytes=1000))
    answers = bytearray()
    for n in range(40):
        link.receive_data(encode_frame((n + 1) % 8, RESULT, final=True), 1.0)
        answers += link.data_to_send()
    taken = 1000 // len(encode_frame(1, RESULT, final=True)[:-1])  # raw ends before the LF
    assert bytes(answers) == ACK * taken + NAK * (40 - taken)
    link.receive_data(EOT, 2.0)
    events = link.events()
    assert not [e for e in events if isinstance(e, MessageReceived)]
    assert [e.reason for e in events if isinstance(e, FrameRejected)] == [
        "message over 1000 bytes: refused (NAK)"
    ]


def test_the_next_session_is_served_after_a_refused_one() -> None:
    link = open_link(dataclasses.replace(HOST, max_message_frames=3))
    for n in range(5):
        link.receive_data(encode_frame((n + 1) % 8, RESULT, final=True), 1.0)
    link.receive_data(EOT, 2.0)
    link.data_to_send()
    link.events()
    link.receive_data(ENQ + encode_frame(1, b"H|\\^&\rL|1|N\r", final=True), 3.0)
    assert link.data_to_send() == ACK  # the ENQ; the final frame's ACK is held
    [message] = [e for e in link.events() if isinstance(e, MessageReceived)]
    link.accept(message.message_id)
    assert link.data_to_send() == ACK


def test_a_trickled_message_is_dropped_at_its_deadline() -> None:
    config = dataclasses.replace(HOST, receiver_timeout=30.0, message_timeout=100.0)
    link = open_link(config)
    now, fn = 0.0, 1
    while now < 200 and link.state is State.RECEIVING:
        now += 29.0  # each frame inside the frame timer: only the message deadline stops it
        link.handle_timeout(now)
        if link.state is not State.RECEIVING:
            break
        link.receive_data(encode_frame(fn, RESULT, final=True), now)
        fn = (fn + 1) % 8
        assert link.next_deadline() == min(now + 30.0, 29.0 + 100.0)
    events = link.events()
    dropped = [e for e in events if isinstance(e, FrameRejected)]
    assert [e.reason for e in dropped] == ["message not complete within 100 s: dropped"]
    assert LinkTimedOut("receiver", "frame or EOT") in events
    assert link.state is State.IDLE
    assert now == 29.0 * 5  # first frame at 29 s, so due at 129 s: noticed at the next tick


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=60).map(lambda b: b.translate(None, bytes(range(32)))), st.booleans()
        ),
        max_size=80,
    ),
    st.integers(1, 20),
    st.integers(64, 2000),
)
def test_any_frames_stay_within_the_limits(
    frames: list[tuple[bytes, bool]], max_frames: int, max_bytes: int
) -> None:
    config = dataclasses.replace(HOST, max_message_frames=max_frames, max_message_bytes=max_bytes)
    link = open_link(config)
    for n, (text, final) in enumerate(frames):
        link.receive_data(encode_frame((n + 1) % 8, text + b"\r", final=final), 1.0)
        assert link.data_to_send() in (ACK, NAK, b"")
        for event in link.events():
            if isinstance(event, MessageReceived):
                assert len(event.raw) <= max_bytes
                link.accept(event.message_id)
                assert link.data_to_send() == ACK
            elif isinstance(event, FrameRejected):
                assert len(event.raw) <= 4096
    link.receive_data(EOT, 2.0)
    for event in link.events():
        if isinstance(event, MessageReceived):
            assert len(event.raw) <= max_bytes
            assert len(event.records) <= max_frames * 61


def test_default_limits_refuse_a_message_that_never_ends() -> None:
    link = open_link(HOST)
    answers = bytearray()
    for n in range(HOST.max_message_frames + 100):
        link.receive_data(encode_frame((n + 1) % 8, RESULT, final=True), 1.0)
        answers += link.data_to_send()
    assert answers.count(ACK) == HOST.max_message_frames
    assert answers.endswith(NAK * 100)
    link.receive_data(EOT, 2.0)
    assert not [e for e in link.events() if isinstance(e, MessageReceived)]
