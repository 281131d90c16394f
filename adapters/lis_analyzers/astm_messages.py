"""One complete ASTM message read: what to store, the questions it asks, and their answers.

Shared by the framed (E1381) and bare-record wires of
:class:`~adapters.lis_analyzers.astm_session.AstmSession`, sans-IO. Content we cannot read is
acknowledged, counted and kept under ``rejected/``: sending it again would not make it readable,
and a NAK would only make the analyzer retry six times and fail.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, tzinfo

from adapters.astm.dialect import Dialect
from adapters.astm.host_query import HostQuery, host_query
from adapters.astm.records import AstmMessage, AstmRecordError, parse_transmission
from adapters.astm.unread import Position, unread_fields
from adapters.canonical.events import CanonicalEvent
from adapters.codemap import CodeMap
from adapters.hl7.timestamps import parse_ts
from adapters.lis_analyzers.astm_dialect_choice import ConnectionDialects
from adapters.lis_analyzers.astm_results import lab_results_from_astm

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class PendingQuery:
    """A question to answer once the message carrying it is stored."""

    message: AstmMessage
    query: HostQuery
    dialect: Dialect
    raw: bytes


@dataclass(frozen=True, slots=True)
class ReadMessage:
    """A message's results, to commit in one transaction before the analyzer hears ACK."""

    events: list[CanonicalEvent]
    unread: Counter[Position]
    device_time: datetime | None
    message_key: str
    """A whole message sent again (its final ACK lost, perhaps to a restart of the gateway)
    has the same key, so the store keeps it once."""
    queries: list[PendingQuery]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Not E1394, or content no mapping survives: acknowledge, count and keep its bytes."""

    reason: str


class MessageReader:
    """One analyzer's messages → lab results and host queries (shared by its connections)."""

    def __init__(
        self,
        device_id: str,
        *,
        encoding: str,
        code_map: CodeMap,
        zone: tzinfo,
        decimal_comma: bool,
    ) -> None:
        self._device_id = device_id
        self._encoding = encoding
        self._code_map = code_map
        self._zone = zone
        self._decimal_comma = decimal_comma

    def read(
        self, records: list[bytes], raw: bytes, dialects: ConnectionDialects
    ) -> ReadMessage | Unreadable:
        """Read one H…L transmission; each message in it with the dialect its H record asks."""
        try:
            messages = parse_transmission(records, encoding=self._encoding)
        except AstmRecordError as exc:
            return Unreadable(f"not ASTM E1394: {exc.reason}")
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
                    self._device_id,
                    dialect,
                    local_zone=self._zone,
                    decimal_comma=self._decimal_comma,
                )
                sent_at = sent_at or parse_ts(message.header.record.text(14), self._zone)
                query = host_query(message, dialect)
                if query is not None:
                    queries.append(PendingQuery(message, query, dialect, raw))
        except Exception:
            log.exception("device %s: a message could not be mapped", self._device_id)
            return Unreadable("unmappable content")
        key = hashlib.sha256(b"\r".join(records)).hexdigest()
        return ReadMessage(events, unread, sent_at, key, queries)
