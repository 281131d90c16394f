"""The intellivue-monitor device session, sans-IO: bytes on the wire and outputs, time given.

Sessions come from the kind's own ``prepare`` (as ``run_device`` makes them); the simulated
monitor agent answers what the session puts on the wire, framed over serial, bare over UDP.
"""

from __future__ import annotations

from typing import Any

from adapters.canonical.events import Alarm, AlarmState, DeviceState, VitalSigns
from adapters.kind import Capability, DeviceSetup, PreparedDevice
from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.association import (
    ReleaseRequest,
    decode_association,
    encode_abort,
)
from adapters.monitors.intellivue.framing import (
    BOF,
    EOF,
    PROTOCOL_ID,
    Frame,
    FrameDecoder,
    encode_frame,
    with_fcs,
)
from adapters.monitors.intellivue_kind import KIND, IntelliVueOptions
from adapters.session import DeviceSession, Rejected, SessionOutput, StateChanged, Store
from tests.hardware_sim.intellivue_monitor import MonitorAgent, default_agent

SPO2 = "150456"


def prepared(capability: Capability, **options: Any) -> PreparedDevice:
    return KIND.prepare(
        DeviceSetup(
            id="bed-07",
            connection="udp://10.0.0.2:24105" if capability == "datagram" else "serial:///dev/x",
            dialect="generic",
            encoding="utf-8",
            options=IntelliVueOptions.model_validate(options),
            capability=capability,
        )
    )


class Line:
    """Carries what the session writes to the agent and the agent's answers back."""

    def __init__(self, agent: MonitorAgent | None, session: DeviceSession, *, framed: bool):
        self.agent = agent
        self.session = session
        self.framed = framed
        self.wire: list[bytes] = []  # each item as the session handed it over
        self.outputs: list[SessionOutput] = []
        self._agent_side = FrameDecoder()

    def pdus_sent(self) -> list[bytes]:
        if not self.framed:
            return list(self.wire)
        frames = FrameDecoder().receive_data(b"".join(self.wire))
        assert all(isinstance(f, Frame) for f in frames)
        return [f.pdu for f in frames if isinstance(f, Frame)]

    def pump(self, now: float) -> None:
        deadline = self.session.next_deadline()
        if deadline is not None and deadline <= now:
            self.session.handle_timeout(now)
        while sending := self.session.data_to_send():
            self.wire += sending
            for item in sending:
                for reply in self._answers(item):
                    self.session.receive_data(encode_frame(reply) if self.framed else reply, now)
        self.outputs += self.session.outputs()

    def run(self, start: float, stop: float, step: float = 0.5) -> None:
        now = start
        while now <= stop:
            self.pump(now)
            now += step

    def _answers(self, item: bytes) -> list[bytes]:
        if self.agent is None:
            return []
        if not self.framed:
            return self.agent.receive_pdu(item)
        pdus = [f.pdu for f in self._agent_side.receive_data(item) if isinstance(f, Frame)]
        return [reply for pdu in pdus for reply in self.agent.receive_pdu(pdu)]

    def stored(self, kind: type) -> list[Any]:
        return [
            event
            for output in self.outputs
            if isinstance(output, Store)
            for event in output.events
            if isinstance(event, kind)
        ]

    def of(self, kind: type) -> list[Any]:
        return [output for output in self.outputs if isinstance(output, kind)]


def connected(
    agent: MonitorAgent | None, capability: Capability = "byte_stream", **options: Any
) -> Line:
    line = Line(
        agent, prepared(capability, **options).new_session("peer"), framed=capability != "datagram"
    )
    line.session.start(0.0)
    line.pump(0.0)
    return line


def test_serial_associates_polls_and_stores_every_snapshot_in_frames() -> None:
    agent = default_agent(bed_label="ICU BED 7")
    line = connected(agent)
    assert line.of(StateChanged) == [StateChanged(DeviceState.CONNECTED, "associated")]
    line.run(0.5, 3.0)
    assert all(item[0] == BOF and item[-1] == EOF for item in line.wire)  # one frame per item
    assert all(item[1] == PROTOCOL_ID for item in line.wire)  # the transport header
    assert line.pdus_sent()[0][0] == nom.CN_SPDU  # the Association Request comes first
    vitals = line.stored(VitalSigns)
    assert [[o.value for o in v.observations] for v in vitals] == [
        [value for _, value in answered] for answered in agent.answered
    ]
    assert {v.bed for v in vitals} == {"ICU BED 7"}
    assert all(store.ticket is None for store in line.of(Store))  # a monitor cannot resend
    assert line.of(Rejected) == []


def test_without_the_header_frames_carry_the_bare_pdu() -> None:
    line = connected(None, frame_header=False)
    (frame,) = line.wire
    assert frame[1] == nom.CN_SPDU


def test_udp_sends_one_bare_pdu_per_datagram_and_reads_linked_results() -> None:
    agent = default_agent(bed_label="ICU BED 9")
    agent.split_results = True  # each answer is three datagrams
    line = connected(agent, "datagram")
    line.run(0.5, 2.0)
    assert line.wire[0][0] == nom.CN_SPDU
    assert all(item[0] != BOF for item in line.wire)
    polls = [pdu for pdu in line.wire if pdu[0] == 0xE1]  # Data Export, not association PDUs
    assert len(polls) >= 2 * len(agent.answered)  # numerics and alarms each time, one apiece
    vitals = line.stored(VitalSigns)
    assert [[o.value for o in v.observations] for v in vitals] == [
        [value for _, value in answered] for answered in agent.answered
    ]


def test_alarm_start_is_stored() -> None:
    agent = default_agent()
    line = connected(agent)
    line.run(0.5, 1.0)
    agent.bed.values[SPO2] = 80.0
    agent.bed.step = lambda: None  # type: ignore[method-assign]  # hold the desaturation
    line.run(1.5, 3.0)
    assert [(a.text, a.state, a.bed) for a in line.stored(Alarm)] == [
        ("SpO2 LOW", AlarmState.START, "ICU BED 7")
    ]


def test_thinning_carries_over_a_new_connection() -> None:
    device = prepared("byte_stream", forward="interval", interval_s=60)
    snapshots = []
    for start in (0.0, 10.0):  # the line drops and comes back within the interval
        line = Line(default_agent(), device.new_session("peer"), framed=True)
        line.session.start(start)
        line.run(start, start + 3.0)
        snapshots.append(line.stored(VitalSigns))
    assert [len(s) for s in snapshots] == [1, 0]


def test_broken_frames_are_rejected_with_their_bytes() -> None:
    line = connected(None)
    bad_fcs = bytes((BOF,)) + b"\x11\x01\x00\x01\x0e\x00\x00" + bytes((EOF,))
    line.session.receive_data(b"noise" + bad_fcs, 1.0)
    assert line.session.outputs() == [
        Rejected("bytes outside a frame", b"noise"),
        Rejected("bad FCS", b"\x11\x01\x00\x01\x0e\x00\x00"),
    ]


def test_an_unreadable_pdu_is_rejected_and_polling_goes_on() -> None:
    agent = default_agent()
    line = connected(agent, "datagram")
    unreadable = b"\xe1\x00\x00\x02\x00\x02\xff"
    line.session.receive_data(unreadable, 0.2)
    line.run(0.5, 2.0)
    assert [(r.raw, bool(r.reason)) for r in line.of(Rejected)] == [(unreadable, True)]
    assert len(line.stored(VitalSigns)) == len(agent.answered) >= 2


def test_a_frame_holding_an_unreadable_pdu_is_rejected() -> None:
    line = connected(None)
    line.session.receive_data(bytes((BOF,)) + with_fcs(b"\xe1\x00") + bytes((EOF,)), 1.0)
    (rejected,) = line.session.outputs()
    assert isinstance(rejected, Rejected)
    assert rejected.raw == b"\xe1\x00"


def test_an_abort_reports_the_association_lost_then_associates_again() -> None:
    agent = default_agent()
    line = connected(agent, "datagram")
    line.session.receive_data(encode_abort(), 0.2)
    line.pump(0.2)
    line.run(5.5, 6.0)  # retry_s is 5 s
    assert line.of(StateChanged) == [
        StateChanged(DeviceState.CONNECTED, "associated"),
        StateChanged(DeviceState.DISCONNECTED, "aborted by the monitor"),
        StateChanged(DeviceState.CONNECTED, "associated"),
    ]


def test_close_sends_the_release_and_waits_for_its_answer() -> None:
    agent = default_agent()
    line = connected(agent)
    assert line.session.close(1.0) is True
    (release,) = line.session.data_to_send()
    (frame,) = FrameDecoder().receive_data(release)
    assert isinstance(frame, Frame)
    assert isinstance(decode_association(frame.pdu), ReleaseRequest)
    assert line.session.next_deadline() is not None  # the loop waits for the Release Result
    (answer,) = agent.receive_pdu(frame.pdu)
    line.session.receive_data(encode_frame(answer), 1.1)
    assert not agent.associated
    assert line.session.next_deadline() is None


def test_close_without_an_answer_gives_up_at_the_release_timeout() -> None:
    line = connected(default_agent(), "datagram")
    line.agent = None
    line.session.close(1.0)
    line.session.handle_timeout(2.9)
    assert line.session.next_deadline() is not None
    line.session.handle_timeout(3.0)  # release_timeout_s is 2 s
    assert line.session.next_deadline() is None


def test_close_before_an_association_has_nothing_to_wait_for() -> None:
    line = connected(None, "datagram")
    assert line.session.close(0.5) is True
    assert line.session.data_to_send() == []
    assert line.session.next_deadline() is None


def test_prepare_waits_for_the_release_as_long_as_the_session_does() -> None:
    device = prepared("byte_stream")
    assert device.idle_timeout_s is None  # the session always has a deadline of its own
    assert device.close_wait_s == 2.0
