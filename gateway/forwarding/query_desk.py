"""Where a device's question waits for the centre's answer (host query, ASTM Q records).

A runner registers the query id *before* the query is committed, so an answer that overtakes
the commit's return is not missed; the forwarder's inbox hands every decoded message on
``query-reply/{device}`` to :meth:`QueryDesk.deliver`. Only an answer to a query this gateway
asked, on the topic of the device that asked it, within the query's window, reaches a device
(issue 11, defect 8: a forged reply carried a patient and orders to an analyzer). Anything else
is refused with a reason; the inbox counts and logs it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters.canonical.orders import OrderReply
from gateway.forwarding.broker_input import Reason


@dataclass(frozen=True)
class _Question:
    device_id: str
    deadline: float
    answer: asyncio.Future[OrderReply]


class QueryDesk:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open: dict[str, _Question] = {}

    def expect(self, device_id: str, query_id: str, timeout_s: float) -> asyncio.Future[OrderReply]:
        """A future the answer to ``query_id`` completes; :meth:`forget` it when done."""
        answer = asyncio.get_running_loop().create_future()
        self._open[query_id] = _Question(device_id, self._clock() + timeout_s, answer)
        return answer

    def forget(self, query_id: str) -> None:
        self._open.pop(query_id, None)

    def deliver(self, device_id: str, reply: OrderReply) -> Reason | None:
        """Hand ``reply``, received on ``device_id``'s reply topic, to its waiter; or say why not.

        A second answer to the same query (queries may be forwarded twice) is ``UNEXPECTED``.
        """
        question = self._open.get(reply.query_id)
        if question is None or question.answer.done() or self._clock() > question.deadline:
            return Reason.UNEXPECTED
        if question.device_id != device_id:
            return Reason.WRONG_DEVICE
        question.answer.set_result(reply)
        return None
