"""What the ASTM analyzer simulator waits on: sends in flight, queries awaiting their answer.

Kept apart from :mod:`~.astm_analyzer`, whose pump resolves them from link-layer events: a
:class:`PendingSend` ends in a :class:`SendOutcome` (which callers get back), a
:class:`PendingQuery` in the host's answer, or ``None`` when the connection ends first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SendOutcome:
    completed: bool
    reason: str | None
    final_ack_at: float | None
    """``time.monotonic()`` when the ACK of the last frame was read; ``None`` unframed or failed."""
    naks: int


@dataclass
class PendingQuery:
    done: asyncio.Future[list[list[bytes]] | None]
    armed: bool = False  # our query went through: messages from now on are the reply
    messages: list[list[bytes]] = field(default_factory=list)

    def end(self, messages: list[list[bytes]] | None) -> None:
        """Hand the answer (``None``: the connection ended) to the caller, once."""
        if not self.done.done():
            self.done.set_result(messages)


@dataclass
class PendingSend:
    records: list[bytes]
    done: asyncio.Future[SendOutcome]
    query: PendingQuery | None = None
    naks: int = 0

    def end(self, failure: str | None, final_ack_at: float | None = None) -> None:
        """Hand the outcome to the caller once; a delivered query's reply is awaited from now."""
        if self.query is not None and failure is None:
            self.query.armed = True
        if not self.done.done():
            self.done.set_result(SendOutcome(failure is None, failure, final_ack_at, self.naks))
