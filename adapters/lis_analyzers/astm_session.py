"""One ASTM analyzer connection as a device session: E1381 frames or bare records, sans-IO.

The wire is chosen per connection from the first ENQ, STX or H record when ``framing =
"auto"`` (PROTOCOLS §1). A message's results go out as one :class:`~adapters.session.Store`
whose ticket holds its last frame's answer: ACK once stored, NAK when refused, so the analyzer
sends it again (promise 1); until then the link answers a new ENQ with NAK (busy). Frame errors
are NAKed by the link, counted and kept; they never end the session. A message's host queries
are asked (:class:`~adapters.session.AskHost`) only once it is stored; the answer (the centre's
orders, or the dialect's "no information") goes back through the link, or as bare records.

The session reads no clock of its own: the loop's monotonic ``now`` drives the link, and the
wall clock that dates order records and a query's ``reply_by`` is injected (:class:`HostAnswers`),
as are query ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from adapters.astm.bare import BareMessage, BareNoise, BareRecordReader, detect_framing
from adapters.astm.dialect_link import LinkConfig
from adapters.astm.host_query import no_information_records, order_records
from adapters.astm.link import AstmLink
from adapters.astm.link_events import FrameRejected, LinkTimedOut, MessageReceived, SendFailed
from adapters.canonical.events import OrderQuery
from adapters.canonical.orders import OrderReply
from adapters.hl7.timestamps import VIETNAM_TIME
from adapters.lis_analyzers.astm_dialect_choice import ConnectionDialects
from adapters.lis_analyzers.astm_messages import MessageReader, PendingQuery, Unreadable
from adapters.session import AskHost, Rejected, SessionBase, Store

log = logging.getLogger(__name__)

Framing = Literal["auto", "e1381", "none"]

UNDECIDED_LIMIT = 4096
"""Bytes of noise kept while ``framing = "auto"`` waits for the first ENQ, STX or H record."""


@dataclass(frozen=True, slots=True)
class HostAnswers:
    """How a host query is answered.

    Attributes:
        ask_centre: Forward queries to the centre; otherwise answer "no information" at once.
        timeout_s: How long the centre has.
        new_query_id: A unique id for each query asked.
        wall_clock: An aware datetime: dates the order records and the query's ``reply_by``.
    """

    ask_centre: bool
    timeout_s: float
    new_query_id: Callable[[], str]
    wall_clock: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class AstmAnalyzer:
    """What one analyzer's connections share."""

    id: str
    dialect: str
    framing: Framing
    link_config: LinkConfig
    max_message_bytes: int
    reader: MessageReader
    answers: HostAnswers


@dataclass(frozen=True, slots=True, eq=False)
class _Held:
    """A Store's ticket: the link's message whose last frame waits (``None``: bare records)."""

    message_id: int | None
    held: bool
    raw: bytes
    queries: list[PendingQuery]


@dataclass(frozen=True, slots=True, eq=False)
class _Question:
    """An AskHost's ticket."""

    pending: PendingQuery
    query_id: str


class AstmSession(SessionBase):
    def __init__(self, analyzer: AstmAnalyzer, peer: str) -> None:
        super().__init__()
        self._analyzer = analyzer
        self._peer = peer
        self._dialects = ConnectionDialects(analyzer.id, analyzer.dialect, peer)
        framing = analyzer.framing
        self._link = AstmLink(analyzer.link_config) if framing != "none" else None
        self._bare = BareRecordReader(analyzer.max_message_bytes) if framing != "e1381" else None
        self._undecided = b""  # framing = "auto": noise before the first ENQ, STX or H record
        # The loop's latest time: a reply decided in stored() (no `now` there) is queued with it;
        # the link starts sending on the next input anyway, at that input's time.
        self._now = 0.0

    def receive_data(self, data: bytes, now: float) -> None:
        self._now = now
        if self._link is not None and self._bare is not None:
            data = self._choose_wire(data)
            if not data:
                return
        if self._link is None:
            assert self._bare is not None
            self._take_bare(self._bare.receive_data(data))
            return
        self._link.receive_data(data, now)
        self._link.handle_timeout(now)
        self._link_events()

    def handle_timeout(self, now: float) -> None:
        self._now = now
        if self._link is not None:
            self._link.handle_timeout(now)
            self._link_events()

    def next_deadline(self) -> float | None:
        return self._link.next_deadline() if self._link is not None else None

    def data_to_send(self) -> list[bytes]:
        if self._link is not None:
            self._send(self._link.data_to_send())
        return super().data_to_send()

    def stored(self, ticket: object, refused: str | None) -> None:
        assert isinstance(ticket, _Held)
        if ticket.message_id is not None:
            assert self._link is not None
            # Always resolve: the link answers ENQ with NAK (busy) until every message is.
            if refused is None:
                self._link.accept(ticket.message_id)
            else:
                self._link.reject(ticket.message_id)
                if not ticket.held:
                    # EOT came without an L record: its frames were ACKed one by one already.
                    self._emit(Rejected("not stored after EOT", ticket.raw))
        elif refused is not None:
            # No link layer: the analyzer cannot be asked to resend, so keep the bytes.
            self._emit(Rejected("not stored (bare records)", ticket.raw))
        if refused is None:
            for pending in ticket.queries:
                self._ask(pending)

    def host_answered(self, ticket: object, reply: OrderReply | None, now: float) -> None:
        assert isinstance(ticket, _Question)
        self._now = now
        pending = ticket.pending
        orders = reply.orders if reply is not None else []
        log.info(
            "device %s: query %s answered with %d order(s)",
            self._analyzer.id,
            ticket.query_id,
            len(orders),
        )
        self._reply(
            order_records(pending.message, pending.query, orders, pending.dialect, self._local())
        )

    def peer_closed(self, now: float) -> None:
        if self._link is None and self._bare is not None:
            self._take_bare(self._bare.close())

    def _choose_wire(self, data: bytes) -> bytes:
        """``framing = "auto"``: the wire this connection speaks, once its bytes show it.

        Returns:
            The bytes held so far, for the chosen wire; ``b""`` while still undecided.
        """
        self._undecided += data
        framed = detect_framing(self._undecided)
        if framed is None:
            if len(self._undecided) > UNDECIDED_LIMIT:
                self._emit(Rejected("neither E1381 frames nor ASTM records", self._undecided))
                self._undecided = b""
            return b""
        log.info(
            "device %s: %s on %s",
            self._analyzer.id,
            "E1381 frames" if framed else "bare records",
            self._peer,
        )
        if framed:
            self._bare = None
        else:
            self._link = None
        held, self._undecided = self._undecided, b""
        return held

    def _link_events(self) -> None:
        assert self._link is not None
        for event in self._link.events():
            if isinstance(event, MessageReceived):
                self._take(event.records, event.raw, event.message_id, held=event.held)
            elif isinstance(event, FrameRejected):
                self._emit(Rejected(event.reason, event.raw))
            elif isinstance(event, LinkTimedOut):
                log.info("device %s: no %s in time", self._analyzer.id, event.waiting_for)
            elif isinstance(event, SendFailed):
                log.warning("device %s: orders not delivered: %s", self._analyzer.id, event.reason)

    def _take_bare(self, items: list[BareMessage | BareNoise]) -> None:
        for item in items:
            if isinstance(item, BareMessage):
                self._take(item.records, item.raw, None, held=True)
            else:
                self._emit(Rejected(item.reason, item.raw))

    def _take(
        self, records: list[bytes], raw: bytes, message_id: int | None, *, held: bool
    ) -> None:
        read = self._analyzer.reader.read(records, raw, self._dialects)
        if isinstance(read, Unreadable):
            self._emit(Rejected(read.reason, raw))
            if message_id is not None:
                assert self._link is not None
                self._link.accept(message_id)
            return
        self._emit(
            Store(
                read.events,
                raw=raw,
                message_key=read.message_key,
                device_time=read.device_time,
                ticket=_Held(message_id, held, raw, read.queries),
                unread=read.unread,
            )
        )

    def _ask(self, pending: PendingQuery) -> None:
        answers = self._analyzer.answers
        if not answers.ask_centre:
            self._reply(
                no_information_records(
                    pending.message, pending.query, pending.dialect, self._local()
                )
            )
            return
        query = OrderQuery(
            query_id=answers.new_query_id(),
            specimen_ids=pending.query.specimen_ids,
            tests=list(pending.query.tests),
            reply_by=answers.wall_clock().astimezone(UTC) + timedelta(seconds=answers.timeout_s),
        )
        self._emit(
            AskHost(query, pending.raw, answers.timeout_s, _Question(pending, query.query_id))
        )

    def _reply(self, records: list[bytes]) -> None:
        if self._link is None:
            self._send(b"".join(record + b"\r" for record in records))
            return
        try:
            self._link.send_message(records, self._now)
        except ValueError as exc:  # a control byte in the centre's answer
            log.warning("device %s: orders not sent: %s", self._analyzer.id, exc)
        self._link_events()

    def _local(self) -> datetime:
        """The wall clock in the zone order records have always been dated in."""
        return self._analyzer.answers.wall_clock().astimezone(VIETNAM_TIME)
