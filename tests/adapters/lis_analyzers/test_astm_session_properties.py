"""Hostile and trickled input to the astm-analyzer session: it never raises, never ACKs early.

Streams are built from what a line really carries (controls, whole and truncated frames of real
messages, bare records, garbage), cut into arbitrary chunks, with time passing between them.
The stand-in loop resolves each Store as the real one does, after a commit that may fail.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.canonical.orders import Order, OrderReply
from adapters.lis_analyzers.astm_session import AstmSession, Framing
from adapters.session import AskHost, Store
from tests.adapters.lis_analyzers.test_astm_session import (
    ACK,
    BC,
    ENQ,
    EOT,
    NAK,
    QUERY,
    frames_of,
    session,
)

STX, ETX = b"\x02", b"\x03"
MESSAGES = [frames_of(BC), frames_of(QUERY), frames_of(BC[:-1])]

whole_message = st.sampled_from(MESSAGES).map(lambda frames: ENQ + b"".join(frames))
one_frame = st.sampled_from([f for frames in MESSAGES for f in frames])
truncated = st.tuples(one_frame, st.integers(1, 40)).map(lambda t: t[0][: t[1]])
bare = st.sampled_from([BC, QUERY]).map(lambda records: b"\r".join(records) + b"\r")
token = st.one_of(
    st.sampled_from([ENQ, EOT, ACK, NAK, STX, ETX, b"\r", b"\n", b"H|", b"L|1"]),
    whole_message,
    one_frame,
    truncated,
    bare,
    st.binary(max_size=64),
)
stream = st.lists(token, max_size=30).map(b"".join)
framing = st.sampled_from(["auto", "e1381", "none"])


class _HostileLoop:
    """Carries out a session's outputs; checks nothing final is ACKed before its commit."""

    def __init__(self, under_test: AstmSession, verdicts: st.DataObject) -> None:
        self.session = under_test
        self.verdicts = verdicts
        self.now = 0.0

    def step(self, chunk: bytes, elapsed: float, *, one_byte: bool) -> None:
        session = self.session
        self.now += elapsed
        session.receive_data(chunk, self.now)
        deadline = session.next_deadline()
        if deadline is not None and deadline <= self.now:
            session.handle_timeout(self.now)
        while outputs := session.outputs():
            for output in outputs:
                if isinstance(output, Store) and output.ticket is not None:
                    self._resolve(output, one_byte=one_byte)
                elif isinstance(output, AskHost):
                    orders = [Order(specimen_id="129903", tests=["GLU"])]
                    reply = self.verdicts.draw(
                        st.sampled_from([None, OrderReply(query_id="x", orders=orders)])
                    )
                    session.host_answered(output.ticket, reply, self.now)
        session.data_to_send()

    def _resolve(self, store: Store, *, one_byte: bool) -> None:
        session = self.session
        before = b"".join(session.data_to_send())
        refused = self.verdicts.draw(st.sampled_from([None, "disk full"]))
        session.stored(store.ticket, refused)
        after = b"".join(session.data_to_send())
        if one_byte:
            # The byte that completed the message cannot have been answered yet.
            assert ACK not in before
            if refused is not None:
                assert ACK not in after
        if refused is not None and after:
            assert after == NAK


@settings(max_examples=150, deadline=None)
@given(data=stream, how=framing, cuts=st.lists(st.integers(1, 97), min_size=1), verdicts=st.data())
def test_any_chunking_of_any_line_content_never_raises(
    data: bytes, how: Framing, cuts: list[int], verdicts: st.DataObject
) -> None:
    loop = _HostileLoop(session(how), verdicts)
    start = 0
    while start < len(data):
        size = cuts[start % len(cuts)]
        loop.step(data[start : start + size], verdicts.draw(st.floats(0, 40)), one_byte=False)
        start += size
    loop.session.peer_closed(loop.now)
    loop.session.outputs()


@settings(max_examples=100, deadline=None)
@given(data=stream, how=st.sampled_from(["auto", "e1381"]), verdicts=st.data())
def test_byte_by_byte_no_final_frame_is_acked_before_it_is_stored(
    data: bytes, how: Framing, verdicts: st.DataObject
) -> None:
    loop = _HostileLoop(session(how), verdicts)
    for byte in data:
        loop.step(bytes([byte]), 0.01, one_byte=True)
