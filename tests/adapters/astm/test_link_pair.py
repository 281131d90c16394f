"""LIS1-A link layer, sender role and a sender/receiver pair wired back to back with faults."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.astm.dialect_link import INSTRUMENT
from adapters.astm.frames import encode_frames
from adapters.astm.link import AstmLink
from adapters.astm.link_events import (
    LinkEstablished,
    LinkReleased,
    LinkTimedOut,
    MessageReceived,
    SendCompleted,
    SendFailed,
)

ENQ, ACK, NAK, EOT = b"\x05", b"\x06", b"\x15", b"\x04"
H, L = b"H|\\^&|||WLSIM^1", b"L|1|N"


def test_sender_sends_each_frame_after_its_ack_then_eot() -> None:
    link = AstmLink()
    send_id = link.send_message([H, b"C|1|I|" + b"x" * 300, L], 0.0)
    assert (link.data_to_send(), link.next_deadline()) == (ENQ, 15.0)
    frames = [*encode_frames(H, 1), *encode_frames(b"C|1|I|" + b"x" * 300, 2), *encode_frames(L, 4)]
    link.receive_data(ACK, 1.0)
    for number, expected in enumerate(frames):
        assert link.data_to_send() == expected
        link.receive_data(ACK, 2.0 + number)
    assert link.data_to_send() == EOT
    assert link.events() == [
        LinkEstablished("sender"),
        LinkReleased("sender"),
        SendCompleted(send_id),
    ]
    assert link.next_deadline() is None


def test_frame_refused_six_times_ends_with_eot_and_send_failed() -> None:
    link = AstmLink()
    send_id = link.send_message([H, L], 0.0)
    assert link.data_to_send() == ENQ
    link.receive_data(ACK, 0.0)
    first = encode_frames(H, 1)[0]
    sent = link.data_to_send()
    for attempt in range(5):
        assert sent == first
        if attempt % 2:
            link.receive_data(NAK, 1.0 + attempt)
        else:
            link.handle_timeout(link.next_deadline() or 0.0)
        sent = link.data_to_send()
    assert sent == first
    link.receive_data(NAK, 100.0)
    assert link.data_to_send() == EOT
    events = link.events()
    assert events[-1] == SendFailed(send_id, "frame 1 refused 6 times")
    assert sum(isinstance(e, LinkTimedOut) for e in events) == 0
    assert link.next_deadline() is None


def test_busy_receiver_then_retry_after_10_s() -> None:
    link = AstmLink()
    link.send_message([H, L], 0.0)
    link.receive_data(NAK, 1.0)
    assert (link.data_to_send(), link.next_deadline()) == (ENQ, 11.0)
    link.handle_timeout(10.9)
    assert link.data_to_send() == b""
    link.handle_timeout(11.0)
    assert link.data_to_send() == ENQ


def test_unanswered_enq_sends_eot_and_six_failures_give_up() -> None:
    link = AstmLink()
    send_id = link.send_message([H, L], 0.0)
    assert link.data_to_send() == ENQ
    for _ in range(6):
        deadline = link.next_deadline()
        assert deadline is not None
        link.handle_timeout(deadline)
        link.handle_timeout(link.next_deadline() or deadline)
    events = link.events()
    assert events.count(LinkTimedOut("sender", "reply to ENQ")) == 6
    assert events[-1] == SendFailed(send_id, "no reply to ENQ")
    assert link.next_deadline() is None


def test_contention_host_backs_off_20_s_and_answers_the_instrument() -> None:
    host = AstmLink()
    host.send_message([H, L], 0.0)
    assert host.data_to_send() == ENQ
    host.receive_data(ENQ, 0.5)
    assert (host.data_to_send(), host.next_deadline()) == (b"", 20.5)
    host.receive_data(ENQ, 1.5)
    assert host.data_to_send() == ACK
    host.receive_data(encode_frames(L, 1)[0], 2.0)
    [message] = [e for e in host.events() if isinstance(e, MessageReceived)]
    host.accept(message.message_id)
    host.receive_data(EOT, 3.0)
    assert host.data_to_send() == ACK
    host.handle_timeout(20.5)
    assert host.data_to_send() == ENQ


def test_transcript_contention_and_interrupt_replayed_as_instrument() -> None:
    """The instrument half of the shared transcript's last exchange."""
    instrument = AstmLink(INSTRUMENT)
    send_id = instrument.send_message([b"H|\\^&", L], 0.0)
    assert instrument.data_to_send() == ENQ
    instrument.receive_data(ENQ, 0.1)  # contention: the instrument retries after 1 s
    assert instrument.next_deadline() == 1.1
    instrument.handle_timeout(1.1)
    assert instrument.data_to_send() == ENQ
    instrument.receive_data(ACK, 1.2)
    assert instrument.data_to_send() == bytes.fromhex("0231487c5c5e260d0345350d0a")
    instrument.receive_data(EOT, 1.3)  # receiver interrupt: stop, resend the message later
    assert (instrument.data_to_send(), instrument.next_deadline()) == (EOT, 16.3)
    instrument.handle_timeout(16.3)
    assert instrument.data_to_send() == ENQ
    instrument.receive_data(ACK, 17.0)
    instrument.receive_data(ACK, 17.1)
    instrument.receive_data(EOT, 17.2)  # an interrupt on the last frame is just an ACK
    assert instrument.data_to_send().endswith(EOT)
    assert instrument.events()[-1] == SendCompleted(send_id)


def pump(
    messages: list[list[bytes]], faults: list[tuple[int, int]], nak_first_commit: bool
) -> tuple[dict[int, list[bytes]], list[list[bytes]], list[SendCompleted | SendFailed]]:
    """Run an instrument and a host back to back; ``faults``: (kind, position) per chunk."""
    instrument, host = AstmLink(INSTRUMENT), AstmLink()
    ids = {instrument.send_message(records, 0.0): records for records in messages}
    delivered: list[list[bytes]] = []
    outcomes: list[SendCompleted | SendFailed] = []
    pending = iter(faults)
    now, rejected = 0.0, not nak_first_commit

    def spoil(data: bytes) -> bytes:
        kind, position = next(pending, (0, 0))
        at = position % len(data)
        return {
            0: data,
            1: data[:at] + bytes((data[at] ^ 0x5A,)) + data[at + 1 :],
            2: b"",
        }[kind % 3]

    for _ in range(20_000):
        to_host, to_instrument = instrument.data_to_send(), host.data_to_send()
        if to_host:
            host.receive_data(spoil(to_host), now)
        if to_instrument:
            instrument.receive_data(spoil(to_instrument), now)
        for event in host.events():
            if isinstance(event, MessageReceived):
                if not rejected and event.held:
                    host.reject(event.message_id)
                    rejected = True
                    continue
                if event.held:
                    delivered.append(event.records)
                host.accept(event.message_id)
        outcomes += [e for e in instrument.events() if isinstance(e, SendCompleted | SendFailed)]
        if not to_host and not to_instrument:
            deadlines = [d for d in (instrument.next_deadline(), host.next_deadline()) if d]
            if not deadlines:
                break
            now = max(now, min(deadlines))
            instrument.handle_timeout(now)
            host.handle_timeout(now)
    return ids, delivered, outcomes


_RECORD = st.binary(min_size=1, max_size=600).map(
    lambda b: b"C|1|I|" + bytes(c for c in b if 0x20 <= c < 0x7F)
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(_RECORD, min_size=0, max_size=3), min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1000)), max_size=60),
    st.booleans(),
)
def test_back_to_back_delivers_once_or_reports_failure(
    bodies: list[list[bytes]], faults: list[tuple[int, int]], nak_first_commit: bool
) -> None:
    messages = [[H, b"P|%d" % number, *body, L] for number, body in enumerate(bodies)]
    ids, delivered, outcomes = pump(messages, faults, nak_first_commit)
    assert sorted(o.send_id for o in outcomes) == sorted(ids)
    for outcome in outcomes:
        copies = delivered.count(ids[outcome.send_id])
        assert copies == 1 if isinstance(outcome, SendCompleted) else copies <= 1
    assert all(records in messages for records in delivered)


def test_back_to_back_without_faults_delivers_long_records() -> None:
    messages = [[H, b"C|1|I|" + b"y" * 1000, L], [H, L]]
    ids, delivered, outcomes = pump(messages, [], nak_first_commit=True)
    assert delivered == messages
    assert outcomes == [SendCompleted(1), SendCompleted(2)]
    assert set(ids) == {1, 2}
