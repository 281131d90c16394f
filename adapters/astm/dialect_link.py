"""Link-layer timers, limits and quirk flags as data (CLSI LIS1-A §8.5-§8.6, PROTOCOLS.md §1).

Dialects adjust a :class:`LinkConfig` with :func:`dataclasses.replace`; the link's two roles
(:mod:`adapters.astm.link_receiver`, :mod:`adapters.astm.link_sender`) read it and never branch
on a vendor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkConfig:
    contention_wait: float = 20.0
    """Before re-sending ENQ after contention (LIS1-A §8.2.7.1): computer ≥ 20 s, instrument 1 s.

    The computer answers the instrument's next ENQ meanwhile; that is how the instrument wins.
    """
    sender_timeout: float = 15.0
    """Reply to ENQ or to a frame (LIS1-A §8.5.1)."""
    receiver_timeout: float = 30.0
    """Next frame or EOT; then the incomplete message is discarded (LIS1-A §8.5.2)."""
    message_timeout: float = 300.0
    """From a message's first frame to its L record: a sender trickling frames cannot hold a
    message open for longer (issue 11, defect 3); then it is dropped as at the frame timer."""
    busy_wait: float = 10.0
    """Before re-sending ENQ after NAK (receiver busy) or an unanswered ENQ."""
    interrupt_wait: float = 15.0
    """After honouring a receiver interrupt, before re-establishing (LIS1-A §8.3.5)."""
    max_attempts: int = 6
    """Sends of one frame (or ENQs of one message) before giving up with EOT (LIS1-A §8.3.4)."""
    max_text: int = 240
    honour_interrupt: bool = True
    """Stop after an EOT answer to a frame and resend the whole message later."""
    message_end: bytes = b"L"
    """Record type that completes a message; its ACK is held for the durable-ACK handshake."""
    deliver_unterminated: bool = True
    """Deliver records left when EOT arrives before an L record (already ACKed frame by frame)."""
    lf_required: bool = False
    checksum_required: bool = True
    max_frame_bytes: int = 1 << 16
    max_message_frames: int = 8192
    max_message_bytes: int = 1 << 20
    """A message over either limit is refused: its frame NAKed, and every frame after it until
    the session ends, so the sender gives up after ``max_attempts`` (issue 11, defect 6)."""


HOST = LinkConfig()
"""The gateway's side: the computer system, which loses contention."""

INSTRUMENT = LinkConfig(contention_wait=1.0)
"""The simulator's side: the instrument, which wins contention and retries after 1 s."""
