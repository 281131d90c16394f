"""The astm-analyzer session, sans-IO: the analyzer's bytes in, our bytes and outputs out.

A small stand-in for the driving loop (``Loop``) commits nothing: it answers each Store as the
test says (stored or refused) exactly when the real loop would, after the commit and before any
more input, and records what the session wanted written and done.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.astm.frames import encode_frames
from adapters.canonical.events import LabResult
from adapters.canonical.orders import Order, OrderReply
from adapters.kind import DeviceSetup
from adapters.lis_analyzers.astm_kind import KIND, AstmAnalyzerOptions, link_config_for
from adapters.lis_analyzers.astm_session import (
    UNDECIDED_LIMIT,
    AstmSession,
    Framing,
    HostAnswers,
)
from adapters.session import AskHost, Rejected, SessionOutput, Store

ENQ, ACK, NAK, EOT, STX = b"\x05", b"\x06", b"\x15", b"\x04", b"\x02"
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "astm" / "records"
BC = [r for r in (CORPUS / "mindray_bc_style_cbc_vn_patient.astm").read_bytes().split(b"\r") if r]
QUERY = [
    b"H|\\^&|||ARCHITECT^9.45^F3452180006^H1P1O1R1C1Q1L1|||||||P|1|20240131155309",
    b"Q|1|^129903||^^^ALL||||||||O",
    b"L|1",
]
WALL = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def frames_of(records: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for record in records:
        out += encode_frames(record, (1 + len(out)) % 8)
    return out


def session(
    framing: Framing = "e1381", *, host_query: bool = True, dialect: str = "auto"
) -> AstmSession:
    """The kind's own prepare, with the wall clock and query ids made predictable."""
    options = AstmAnalyzerOptions(
        framing=framing, host_query=host_query, timezone="Asia/Ho_Chi_Minh"
    )
    setup = DeviceSetup("analyzer-1", "listen://x", dialect, "utf-8", options, "byte_stream")
    made = KIND.prepare(setup).new_session("peer")
    assert isinstance(made, AstmSession)
    ids = iter(f"Q{n}" for n in range(1, 100))
    answers = HostAnswers(host_query, options.query_timeout_s, ids.__next__, lambda: WALL)
    analyzer = dataclasses.replace(made._analyzer, answers=answers)
    assert analyzer.link_config == link_config_for(dialect, options)
    return AstmSession(analyzer, "peer")


class Loop:
    """Feeds the session and carries out its outputs as ``gateway/devices/loop.py`` does."""

    def __init__(self, under_test: AstmSession, refuse: str | None = None) -> None:
        self.session = under_test
        self.refuse = refuse
        self.now = 1.0
        self.done: list[SessionOutput] = []
        self.wire = b""

    def feed(self, data: bytes) -> bytes:
        """Bytes the session writes in answer, after its stores are resolved."""
        self.session.receive_data(data, self.now)
        return self.carry_out()

    def carry_out(self) -> bytes:
        while outputs := self.session.outputs():
            for output in outputs:
                self.done.append(output)
                if isinstance(output, Store) and output.ticket is not None:
                    self.wire += b"".join(self.session.data_to_send())
                    self.session.stored(output.ticket, self.refuse)
        sent = b"".join(self.session.data_to_send())
        self.wire += sent
        return sent

    def of(self, kind: type[SessionOutput]) -> list[SessionOutput]:
        return [o for o in self.done if isinstance(o, kind)]


def test_the_last_frame_is_acked_only_once_the_message_is_stored() -> None:
    loop = Loop(session())
    frames = frames_of(BC)
    assert loop.feed(ENQ) == ACK
    for frame in frames[:-1]:
        assert loop.feed(frame) == ACK
    under_test = loop.session
    under_test.receive_data(frames[-1], 2.0)
    assert under_test.data_to_send() == []  # held: nothing on the wire yet
    (store,) = under_test.outputs()
    assert isinstance(store, Store)
    assert [type(e) for e in store.events] == [LabResult]
    assert store.events[0].specimen_id == "2603020011"  # type: ignore[union-attr]
    assert store.device_time == datetime.fromisoformat("2026-03-02T09:15:00+07:00")
    assert store.raw is not None
    assert store.raw.count(STX) == len(frames)
    under_test.stored(store.ticket, None)
    assert under_test.data_to_send() == [ACK]
    assert loop.feed(EOT) == b""


def test_a_refused_message_is_naked_and_its_resend_is_the_same_message() -> None:
    loop = Loop(session(), refuse="disk full")
    frames = frames_of(BC)
    loop.feed(ENQ + b"".join(frames[:-1]))
    assert loop.feed(frames[-1]) == NAK
    loop.refuse = None
    assert loop.feed(frames[-1]) == ACK
    first, second = loop.of(Store)
    assert isinstance(first, Store)
    assert isinstance(second, Store)
    assert first.message_key == second.message_key is not None
    assert loop.of(Rejected) == []  # the analyzer resends: nothing to keep aside


def test_records_without_l_refused_at_eot_are_kept_as_rejected() -> None:
    loop = Loop(session(), refuse="disk full")
    frames = frames_of(BC[:-1])
    loop.feed(ENQ + b"".join(frames))
    assert loop.feed(EOT) == b""
    (rejected,) = loop.of(Rejected)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "not stored after EOT"
    assert rejected.raw.count(STX) == len(frames)


def test_content_that_is_not_e1394_is_acked_counted_and_kept() -> None:
    loop = Loop(session())
    frames = frames_of([b"X|1|nonsense", b"L|1"])
    loop.feed(ENQ + frames[0])
    assert loop.feed(frames[1]) == ACK  # resending would not make it readable
    (rejected,) = loop.of(Rejected)
    assert isinstance(rejected, Rejected)
    assert rejected.reason.startswith("not ASTM E1394")
    assert loop.of(Store) == []


def sent_records(loop: Loop) -> list[bytes]:
    """Play the analyzer receiving our ENQ…EOT session: ACK every frame, return the records."""
    frames = []
    answer = loop.feed(ACK)
    while answer != EOT:
        assert answer.startswith(STX)
        frames.append(answer)
        answer = loop.feed(ACK)
    text = b"".join(re.findall(rb"\x02[0-7](.*?)[\x03\x17]", b"".join(frames), re.S))
    return [r for r in text.split(b"\r") if r]


def test_a_host_query_is_asked_once_stored_and_the_orders_go_back_framed() -> None:
    loop = Loop(session())
    frames = frames_of(QUERY)
    loop.feed(ENQ + b"".join(frames[:-1]))
    assert loop.of(AskHost) == []
    loop.session.receive_data(frames[-1], 2.0)
    (store,) = loop.session.outputs()
    assert isinstance(store, Store)
    assert store.events == []
    assert loop.session.outputs() == []  # not asked before the message is stored
    loop.session.stored(store.ticket, None)
    (ask,) = loop.session.outputs()
    assert isinstance(ask, AskHost)
    assert (ask.query.query_id, ask.query.specimen_ids) == ("Q1", ["129903"])
    assert ask.query.reply_by == WALL + timedelta(seconds=8)
    assert (ask.timeout_s, ask.raw) == (8.0, store.raw)
    assert loop.session.data_to_send() == [ACK]
    assert loop.feed(EOT) == b""
    reply = OrderReply(query_id="Q1", orders=[Order(specimen_id="129903", tests=["GLU"])])
    loop.session.host_answered(ask.ticket, reply, 3.0)
    assert loop.carry_out() == ENQ
    header, patient, order, terminator = sent_records(loop)
    assert header.startswith(b"H|\\^&|")
    assert patient == b"P|1"
    assert order.startswith(b"O|1|129903|")
    assert b"GLU" in order
    assert terminator == b"L|1|F"


def test_without_host_query_the_analyzer_hears_no_information_at_once() -> None:
    loop = Loop(session(host_query=False, dialect="abbott-architect"))
    loop.feed(ENQ + b"".join(frames_of(QUERY)))
    assert loop.of(AskHost) == []
    assert loop.feed(EOT) == ENQ
    assert sent_records(loop)[-1] == b"L|1|I"


def test_an_order_the_link_cannot_carry_is_not_sent() -> None:
    loop = Loop(session())
    loop.feed(ENQ + b"".join(frames_of(QUERY)) + EOT)
    (ask,) = loop.of(AskHost)
    assert isinstance(ask, AskHost)
    hostile = Order(specimen_id="129903", tests=["GLU\x02\x04"])
    loop.session.host_answered(ask.ticket, OrderReply(query_id="Q1", orders=[hostile]), 3.0)
    assert loop.carry_out() == b""
    assert loop.session.next_deadline() is None


def test_bare_records_are_stored_answered_in_records_and_kept_when_refused() -> None:
    loop = Loop(session("none"))
    assert loop.feed(b"\r".join(QUERY) + b"\r") == b""
    (ask,) = loop.of(AskHost)
    assert isinstance(ask, AskHost)
    loop.session.host_answered(ask.ticket, None, 2.0)
    answer = loop.carry_out()
    assert answer.startswith(b"H|\\^&|")
    assert answer.endswith(b"\rL|1|I\r")
    loop.refuse = "disk full"
    loop.feed(b"\r".join(BC) + b"\r")
    (rejected,) = loop.of(Rejected)
    assert rejected == Rejected("not stored (bare records)", b"\r".join(BC) + b"\r")


def test_bare_records_cut_by_the_end_of_input_are_still_stored() -> None:
    loop = Loop(session("auto"))
    loop.feed(b"\r".join(BC[:-1]))
    assert loop.of(Store) == []
    loop.session.peer_closed(2.0)
    loop.carry_out()
    (store,) = loop.of(Store)
    assert isinstance(store, Store)
    assert len(store.events) == 1


def test_auto_keeps_bounded_noise_until_a_frame_or_record_shows() -> None:
    loop = Loop(session("auto"))
    noise = b"\xff~" * (UNDECIDED_LIMIT // 2 + 1)
    assert loop.feed(noise) == b""
    assert loop.of(Rejected) == [Rejected("neither E1381 frames nor ASTM records", noise)]
    assert loop.feed(b"\x00" + ENQ) == ACK  # framed from here on


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_a_trickled_message_gets_one_answer_per_frame_and_one_store(chunk: int) -> None:
    loop = Loop(session())
    data = ENQ + b"".join(frames_of(BC))
    for start in range(0, len(data), chunk):
        loop.feed(data[start : start + chunk])
    assert loop.feed(EOT) == b""
    assert loop.wire == ACK * (1 + len(frames_of(BC)))
    assert len(loop.of(Store)) == 1
