"""A small order file the reference consumer answers host queries from (``consume --orders``).

It stands in for the LIS/EMR so the host-query path can be exercised end to end, by tests and
by an engineer commissioning an analyzer. CSV with a header row::

    specimen_id,tests,priority,patient_id,patient_name,specimen_type
    2611230001,GLU CREA ALT,R,BN-000123,NGUYEN VAN A,Serum

``tests`` are the analyzer's own test codes separated by spaces or ``;``. Only ``specimen_id``
and ``tests`` are required.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from adapters.canonical.codes import PatientRef
from adapters.canonical.orders import Order, OrderReply

_SEPARATORS = re.compile(r"[;\s]+")


class OrderFileError(ValueError):
    """The order file cannot be read; names the file and line."""


class OrderBook:
    def __init__(self, orders: dict[str, Order]) -> None:
        self._orders = orders

    @classmethod
    def load(cls, path: Path) -> OrderBook:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise OrderFileError(f"{path}: {exc.strerror or exc}") from exc
        orders: dict[str, Order] = {}
        for line, row in enumerate(rows, start=2):
            specimen = (row.get("specimen_id") or "").strip()
            tests = [t for t in _SEPARATORS.split(row.get("tests") or "") if t]
            if not specimen or not tests:
                raise OrderFileError(f"{path}:{line}: specimen_id and tests are required")
            patient = PatientRef(
                id=(row.get("patient_id") or "").strip() or None,
                name=(row.get("patient_name") or "").strip() or None,
            )
            orders[specimen] = Order(
                specimen_id=specimen,
                tests=tests,
                priority=(row.get("priority") or "R").strip() or "R",
                patient=patient if patient != PatientRef() else None,
                specimen_type=(row.get("specimen_type") or "").strip() or None,
            )
        return cls(orders)

    def answer(self, query_payload: dict[str, object]) -> bytes:
        """The JSON :class:`OrderReply` to an ``order_query`` payload (no orders: empty list)."""
        specimen_ids = query_payload.get("specimen_ids")
        wanted = specimen_ids if isinstance(specimen_ids, list) else []
        orders = [self._orders[s] for s in wanted if isinstance(s, str) and s in self._orders]
        reply = OrderReply(query_id=str(query_payload["query_id"]), orders=orders)
        return json.dumps(reply.model_dump(mode="json", exclude_none=True)).encode()
