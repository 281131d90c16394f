"""What the E1381 link layer reports (past-tense facts), kept apart from its state machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["sender", "receiver"]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message_id: int
    records: list[bytes]
    raw: bytes
    """Every accepted frame of the message, as received (audit and quarantine)."""
    held: bool = True
    """``False``: delivered at EOT without an L record, its frames already ACKed."""


@dataclass(frozen=True, slots=True)
class FrameRejected:
    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class LinkTimedOut:
    role: Role
    waiting_for: str


@dataclass(frozen=True, slots=True)
class LinkEstablished:
    role: Role


@dataclass(frozen=True, slots=True)
class LinkReleased:
    role: Role


@dataclass(frozen=True, slots=True)
class SendCompleted:
    send_id: int


@dataclass(frozen=True, slots=True)
class SendFailed:
    send_id: int
    reason: str


Event = (
    MessageReceived
    | FrameRejected
    | LinkTimedOut
    | LinkEstablished
    | LinkReleased
    | SendCompleted
    | SendFailed
)
