"""Where a device's question waits for the centre's answer (host query, ASTM Q records).

A runner registers the query id *before* the query is committed, so an answer that overtakes
the commit's return is not missed; the forwarder hands every message on ``query-reply/+`` to
:meth:`QueryDesk.deliver`. An answer nobody waits for (too late: the analyzer was already told
"no information"; or for another gateway run) is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from adapters.canonical.orders import OrderReply

log = logging.getLogger("wardlink.queries")


class QueryDesk:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[OrderReply]] = {}

    def expect(self, query_id: str) -> asyncio.Future[OrderReply]:
        """A future the answer to ``query_id`` will complete; :meth:`forget` it when done."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[query_id] = waiter
        return waiter

    def forget(self, query_id: str) -> None:
        self._waiting.pop(query_id, None)

    def deliver(self, payload: bytes) -> None:
        """Complete the waiter of the answer in ``payload`` (JSON :class:`OrderReply`)."""
        try:
            reply = OrderReply.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("ignored a malformed query reply: %s", exc.errors()[0]["msg"])
            return
        waiter = self._waiting.get(reply.query_id)
        if waiter is None or waiter.done():
            log.info("reply to query %s came when nobody waited (too late?)", reply.query_id)
            return
        waiter.set_result(reply)
