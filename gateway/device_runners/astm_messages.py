"""What the gateway does with one complete ASTM message: store its results, answer its query.

Shared by the framed (E1381) and bare-record wires of :mod:`gateway.device_runners.astm`. A
message's results are committed in one transaction before :meth:`AnalyzerMessages.take` returns
``stored=True``; only then may the wire acknowledge the message's last frame (promise 1).
Content we cannot read is acknowledged, counted and kept under ``rejected/``: sending it again
would not make it readable, and a NAK would only make the analyzer retry six times and fail.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.astm.dialect import Dialect
from adapters.astm.host_query import HostQuery, host_query, no_information_records, order_records
from adapters.astm.records import AstmMessage, AstmRecordError, parse_transmission
from adapters.astm.unread import Position, unread_fields
from adapters.canonical.events import CanonicalEvent, OrderQuery
from adapters.codemap import CodeMap
from adapters.hl7.timestamps import VIETNAM_TIME, parse_ts
from adapters.lis_analyzers.astm_kind import AstmAnalyzerOptions
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.zones import device_zone
from gateway.device_runners.astm_dialects import ConnectionDialects
from gateway.envelope import UlidFactory, utc_now
from gateway.intake import Intake

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingQuery:
    """A question to forward once the message carrying it is acknowledged."""

    message: AstmMessage
    query: HostQuery
    dialect: Dialect
    raw: bytes


@dataclass(frozen=True, slots=True)
class Taken:
    stored: bool
    """False: nothing durable happened; the wire must answer so the analyzer sends it again."""
    queries: list[PendingQuery] = field(default_factory=list)


class AnalyzerMessages:
    """One analyzer's messages → committed lab results and host queries (all connections)."""

    def __init__(
        self,
        device_id: str,
        *,
        dialect: str,
        encoding: str,
        code_map: CodeMap,
        options: AstmAnalyzerOptions,
        intake: Intake,
    ) -> None:
        self._device_id = device_id
        self._dialect = dialect
        self._encoding = encoding
        self._code_map = code_map
        self._options = options
        self._intake = intake
        self._query_ids = UlidFactory()
        self._zone = device_zone(options.timezone)

    def dialects_for(self, peer: str) -> ConnectionDialects:
        """The dialect chooser of a new connection (each logs its choices once)."""
        return ConnectionDialects(self._device_id, self._dialect, peer)

    async def take(self, records: list[bytes], raw: bytes, dialects: ConnectionDialects) -> Taken:
        """Store the results of one message; return the queries it asks, to answer after.

        Fields the dialect did not read are counted once the message is stored (a message the
        analyzer must resend is counted when it comes again).
        """
        device_id = self._device_id
        try:
            messages = parse_transmission(records, encoding=self._encoding)
        except AstmRecordError as exc:
            self._intake.count_rejected(device_id, f"not ASTM E1394: {exc.reason}", raw)
            return Taken(stored=True)
        events: list[CanonicalEvent] = []
        queries = []
        unread: Counter[Position] = Counter()
        sent_at = None
        try:
            for message in messages:
                dialect = dialects.dialect_for(message.header.record.fields)
                unread += unread_fields(message, dialect)
                events += lab_results_from_astm(
                    message,
                    self._code_map,
                    device_id,
                    dialect,
                    local_zone=self._zone,
                    decimal_comma=self._options.decimal_comma,
                )
                sent_at = sent_at or parse_ts(message.header.record.text(14), self._zone)
                query = host_query(message, dialect)
                if query is not None:
                    queries.append(PendingQuery(message, query, dialect, raw))
        except Exception:
            log.exception("device %s: a message could not be mapped", device_id)
            self._intake.count_rejected(device_id, "unmappable content", raw)
            return Taken(stored=True)
        if events:
            try:
                # A whole message sent again (its final ACK was lost, perhaps to a restart of
                # the gateway) is recognised by the store and kept once.
                key = hashlib.sha256(b"\r".join(records)).hexdigest()
                await self._intake.submit_many(
                    device_id, events, raw=raw, message_key=key, device_time=sent_at
                )
            except Exception as exc:  # StoreError above all: the analyzer must resend later
                log.warning(
                    "device %s: message not stored (%s); analyzer told to resend",
                    device_id,
                    type(exc).__name__,
                )
                return Taken(stored=False)
        if unread:
            self._intake.count_unread_fields(device_id, unread)
        return Taken(stored=True, queries=queries)

    async def answer(self, pending: PendingQuery) -> list[bytes]:
        """The records to send back: the centre's orders, or the dialect's "no information"."""
        options = self._options
        now = datetime.now(VIETNAM_TIME)
        if not options.host_query:
            return no_information_records(pending.message, pending.query, pending.dialect, now)
        query = OrderQuery(
            query_id=self._query_ids.new(),
            specimen_ids=pending.query.specimen_ids,
            tests=list(pending.query.tests),
            reply_by=utc_now() + timedelta(seconds=options.query_timeout_s),
        )
        reply = await self._intake.ask_host(
            self._device_id, query, raw=pending.raw, timeout_s=options.query_timeout_s
        )
        orders = reply.orders if reply is not None else []
        log.info(
            "device %s: query %s answered with %d order(s)",
            self._device_id,
            query.query_id,
            len(orders),
        )
        now = datetime.now(VIETNAM_TIME)
        return order_records(pending.message, pending.query, orders, pending.dialect, now)
