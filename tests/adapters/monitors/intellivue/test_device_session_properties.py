"""Properties of the intellivue-monitor device session: hostile input never breaks it.

Whatever arrives (random bytes, a real conversation cut anywhere or truncated, random
datagrams) the session never raises, says only what the contract allows, and keeps a deadline
of its own until it is closed: the driving loop never has to guess when to poll again.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.canonical.events import Alarm, VitalSigns
from adapters.kind import Capability, DeviceSetup
from adapters.monitors.intellivue.framing import encode_frame
from adapters.monitors.intellivue_kind import KIND, IntelliVueOptions
from adapters.session import DeviceSession, Rejected, StateChanged, Store
from tests.hardware_sim.intellivue_monitor import default_agent


def new_session(capability: Capability) -> DeviceSession:
    setup = DeviceSetup(
        id="bed-07",
        connection="serial:///dev/x",
        dialect="generic",
        encoding="utf-8",
        options=IntelliVueOptions(),
        capability=capability,
    )
    return KIND.prepare(setup).new_session("peer")


def monitor_pdus() -> list[bytes]:
    """What a monitor says in its first seconds: association, MDS report, poll results."""
    agent = default_agent()
    session = new_session("datagram")
    session.start(0.0)
    said: list[bytes] = []
    for now in (0.0, 1.0, 2.0):
        session.handle_timeout(now)
        for pdu in session.data_to_send():
            for answer in agent.receive_pdu(pdu):
                said.append(answer)
                session.receive_data(answer, now)
    return said


MONITOR_PDUS = monitor_pdus()


def feed_and_check(session: DeviceSession, inputs: list[tuple[bytes, float]]) -> None:
    session.start(0.0)
    now = 0.0
    for data, step in inputs:
        now += step
        session.receive_data(data, now)
        session.handle_timeout(now)
        assert session.next_deadline() is not None  # connected: a poll or retry is always due
        for output in session.outputs():
            assert isinstance(output, Store | Rejected | StateChanged)
            if isinstance(output, Store):
                assert output.ticket is None
                assert all(isinstance(e, VitalSigns | Alarm) for e in output.events)
        assert all(isinstance(item, bytes) and item for item in session.data_to_send())
    session.close(now + 1.0)
    session.handle_timeout(now + 10.0)
    assert session.next_deadline() is None  # released or given up: the goodbye ends


times = st.floats(min_value=0.0, max_value=12.0, allow_nan=False)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.binary(max_size=200), times), max_size=12))
def test_random_bytes_on_a_serial_line(inputs: list[tuple[bytes, float]]) -> None:
    feed_and_check(new_session("byte_stream"), inputs)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=200), times), max_size=12))
def test_random_datagrams(inputs: list[tuple[bytes, float]]) -> None:
    feed_and_check(new_session("datagram"), inputs)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(MONITOR_PDUS), st.integers(0, 400), times),
        max_size=12,
    )
)
def test_truncated_monitor_datagrams(inputs: list[tuple[bytes, int, float]]) -> None:
    datagrams = [(pdu[:cut] or b"\x00", step) for pdu, cut, step in inputs]
    feed_and_check(new_session("datagram"), datagrams)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(MONITOR_PDUS), max_size=8), st.booleans(), st.data())
def test_a_real_conversation_cut_anywhere_on_a_serial_line(
    pdus: list[bytes], line_dies: bool, data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(pdu) for pdu in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    if cuts and line_dies:
        stream = stream[: cuts.pop()]  # the line dies mid-frame
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=False)]
    feed_and_check(new_session("byte_stream"), [(chunk, 0.1) for chunk in chunks])
