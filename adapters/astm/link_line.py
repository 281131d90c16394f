"""What the two roles of one ASTM connection share: the line's state, its timer, what goes out.

E1381 is half-duplex, so the receiver (:mod:`adapters.astm.link_receiver`) and the sender
(:mod:`adapters.astm.link_sender`) take turns on one :class:`LinkLine`: the current
:class:`State` and its deadline, the bytes owed to the peer and the events not yet collected.
:class:`LinkInput` names what can arrive; each role maps (state, input) pairs to its handlers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from adapters.astm.dialect_link import LinkConfig
from adapters.astm.frames import ACK, ENQ, EOT, NAK
from adapters.astm.link_events import Event


class State(enum.Enum):
    IDLE = "idle"
    ENQ_SENT = "enq_sent"
    FRAME_SENT = "frame_sent"
    RECEIVING = "receiving"
    HOLDING = "holding"


class LinkInput(enum.Enum):
    ENQ = ENQ
    ACK = ACK
    NAK = NAK
    EOT = EOT
    FRAME = "frame"
    TIMEOUT = "timeout"


@dataclass(slots=True)
class LinkLine:
    config: LinkConfig
    state: State = State.IDLE
    deadline: float | None = None
    """The current state's timer."""
    out: bytearray = field(default_factory=bytearray)
    events: list[Event] = field(default_factory=list)

    def send(self, code: int) -> None:
        self.out.append(code)

    def enter(self, state: State, deadline: float | None) -> None:
        self.state, self.deadline = state, deadline
