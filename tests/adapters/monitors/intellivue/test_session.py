"""The host session against the simulated monitor agent, with time as an argument."""

from __future__ import annotations

from typing import Any

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.association import (
    encode_abort,
    encode_association_refused,
    encode_release_request,
)
from adapters.monitors.intellivue.pdu import PollRequest, decode_data_export
from adapters.monitors.intellivue.session import IntelliVueSession, SessionConfig, State
from adapters.monitors.intellivue.session_events import (
    Alarms,
    Associated,
    Lost,
    Numerics,
    PduRejected,
    Released,
)
from tests.hardware_sim.intellivue_monitor import MonitorAgent, default_agent

SPO2 = "150456"


class Wire:
    """Carries PDUs between the session and the agent until both are quiet."""

    def __init__(self, agent: MonitorAgent | None, session: IntelliVueSession) -> None:
        self.agent = agent
        self.session = session
        self.sent: list[bytes] = []
        self.events: list[object] = []

    def pump(self, now: float) -> None:
        self.session.handle_timeout(now)
        while out := self.session.pdus_to_send():
            self.sent += out
            for pdu in out:
                for reply in self.agent.receive_pdu(pdu) if self.agent else []:
                    self.session.receive_pdu(reply, now)
        self.events += self.session.events()

    def run(self, start: float, stop: float, step: float = 0.5) -> None:
        now = start
        while now <= stop:
            self.pump(now)
            now += step

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def started(agent: MonitorAgent | None, config: SessionConfig | None = None) -> Wire:
    session = IntelliVueSession(config)
    session.start(0.0)
    wire = Wire(agent, session)
    wire.pump(0.0)
    return wire


def test_associates_then_polls_numerics_and_alarms_every_interval() -> None:
    agent = default_agent()
    wire = started(agent)
    assert wire.session.state is State.POLLING
    assert wire.of(Associated) == [Associated("ICU BED 7", wire.of(Associated)[0].user_info)]
    wire.run(0.5, 4.0)
    numerics = wire.of(Numerics)
    assert len(numerics) == len(agent.answered) == 5  # at 0, 1, 2, 3, 4 s
    for event, answered in zip(numerics, agent.answered, strict=True):
        assert event.bed_label == "ICU BED 7"
        assert [(v.physio_id, v.value) for v in event.values] == answered
        assert event.measured_at is not None  # from the MDS clock and the relative time


def test_linked_results_are_joined() -> None:
    agent = default_agent()
    agent.split_results = True
    wire = started(agent)
    wire.run(0.5, 2.0)
    assert [[(v.physio_id, v.value) for v in e.values] for e in wire.of(Numerics)] == (
        agent.answered
    )


def test_alarm_starts_once_and_ends_once() -> None:
    agent = default_agent()
    wire = started(agent)
    wire.run(0.5, 1.0)
    agent.bed.values[SPO2] = 80.0
    agent.bed.step = lambda: None  # type: ignore[method-assign]  # hold the desaturation
    wire.run(1.5, 4.0)
    agent.bed.values[SPO2] = 97.0
    wire.run(4.5, 6.0)
    changes = [(c.phase, c.entry.text) for e in wire.of(Alarms) for c in e.changes]
    assert changes == [("start", "SpO2 LOW"), ("end", "SpO2 LOW")]


def test_refusal_is_retried_after_a_pause() -> None:
    wire = started(None, SessionConfig(retry_s=5.0))
    wire.session.receive_pdu(encode_association_refused(), 0.1)
    wire.pump(0.1)
    assert wire.of(Lost) == [Lost("association refused")]
    wire.sent.clear()
    wire.run(0.5, 4.5)
    assert wire.sent == []
    wire.pump(5.1)
    assert wire.sent[0][0] == nom.CN_SPDU
    assert wire.session.state is State.ASSOCIATING


def test_no_answer_asks_again() -> None:
    wire = started(None, SessionConfig(association_timeout_s=2.0))
    wire.run(0.5, 4.0)
    assert [pdu[0] for pdu in wire.sent] == [nom.CN_SPDU] * 3  # at 0, 2 and 4 s


def test_silence_aborts_and_associates_again() -> None:
    agent = default_agent()
    wire = started(agent, SessionConfig(silence_timeout_s=3.0, retry_s=1.0))
    wire.agent = None  # the monitor goes quiet
    wire.run(0.5, 3.5)
    assert wire.of(Lost) == [Lost("nothing heard for 3 s")]
    assert wire.sent[-1][0] == nom.AB_SPDU
    wire.agent = agent
    wire.run(4.0, 6.0)
    assert len(wire.of(Associated)) == 2
    assert wire.session.state is State.POLLING


def test_keep_alive_when_polls_are_rare() -> None:
    agent = default_agent()
    wire = started(agent, SessionConfig(poll_interval_s=30.0, keep_alive_s=4.0))
    first = len(wire.sent)
    wire.run(0.5, 9.0)
    polls = [decode_data_export(pdu) for pdu in wire.sent[first:]]
    assert [(p.object_type, p.extended) for p in polls if isinstance(p, PollRequest)] == [
        (nom.NOM_MOC_VMO_METRIC_NU, True),  # the first polls, at 0.5 s
        (nom.NOM_MOC_VMO_AL_MON, True),
        (nom.NOM_MOC_VMS_MDS, False),  # keep-alives at 4.5 and 8.5 s
        (nom.NOM_MOC_VMS_MDS, False),
    ]
    assert wire.session.state is State.POLLING


def test_monitor_abort_and_release_request_are_lost_associations() -> None:
    agent = default_agent()
    wire = started(agent, SessionConfig(retry_s=1.0))
    wire.session.receive_pdu(encode_abort(), 0.2)
    wire.pump(0.2)
    wire.run(1.5, 2.0)
    wire.session.receive_pdu(encode_release_request(), 2.2)
    wire.pump(2.2)
    assert wire.of(Lost) == [Lost("aborted by the monitor"), Lost("released by the monitor")]
    assert wire.sent[-1][0] == nom.DN_SPDU  # the release is answered


def test_close_releases() -> None:
    agent = default_agent()
    wire = started(agent)
    wire.session.close(1.0)
    wire.pump(1.0)
    assert wire.of(Released) == [Released()]
    assert wire.session.state is State.CLOSED
    assert wire.session.next_deadline() is None


def test_close_without_an_answer_ends_after_the_timeout() -> None:
    agent = default_agent()
    wire = started(agent, SessionConfig(release_timeout_s=2.0))
    wire.agent = None
    wire.session.close(1.0)
    wire.run(1.0, 2.5)
    assert wire.of(Released) == []
    wire.pump(3.0)
    assert wire.of(Released) == [Released()]


def test_unreadable_bytes_are_declared_and_change_nothing() -> None:
    agent = default_agent()
    wire = started(agent)
    wire.session.receive_pdu(b"\xe1\x00\x00\x02\x00\x02\xff", 0.3)
    wire.pump(0.3)
    assert [e.reason for e in wire.of(PduRejected)]
    assert wire.session.state is State.POLLING
