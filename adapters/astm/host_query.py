r"""Host query (E1394 Q record) in, order download (H/P/O/L) or "no information" out, sans-IO.

An analyzer that reads a barcode asks the host which tests to run (``Q|1|^SID||ALL``). The
gateway forwards the question and answers with what the centre sends back, written with the
*analyzer's own* delimiters (Erba expects its backtick repeat back). Where vendors differ (which
Q-3 component is the barcode, whether O-4 echoes the rack position, how "no orders" is said)
the :class:`~adapters.astm.dialect.Dialect` decides, never a branch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.astm.dialect import Dialect
from adapters.astm.escape import Delimiters, escape
from adapters.astm.records import AstmMessage, Record
from adapters.canonical.orders import Order

SENDER_NAME = "WardLink"
ALL_TESTS = frozenset({"ALL", ""})
_SEXES = {"male": "M", "female": "F"}


@dataclass(frozen=True, slots=True)
class SpecimenQuery:
    specimen_id: str
    position: tuple[str, ...]
    """Q-3 components after the specimen id (rack, cup: echoed in O-4 when the dialect says)."""


@dataclass(frozen=True, slots=True)
class HostQuery:
    """What one message asks: its specimens (in the order asked) and the tests (none: all)."""

    specimens: tuple[SpecimenQuery, ...]
    tests: tuple[str, ...]

    @property
    def specimen_ids(self) -> list[str]:
        return [s.specimen_id for s in self.specimens]


def host_query(message: AstmMessage, dialect: Dialect) -> HostQuery | None:
    """The question a message asks, or ``None`` when it has no Q record with a specimen id.

    Every Q record counts (Immucor NEO sends one per sample) and every Q-3 repeat (Erba joins
    several barcodes with its repeat delimiter).
    """
    specimens: list[SpecimenQuery] = []
    tests: list[str] = []
    for node in message.queries:
        q = node.record
        for rep in range(len(q.repeats(3))):
            components = q.components(3, rep=rep)
            found = next(
                (c for c in dialect.query_specimen_components if _at(components, c).strip()), None
            )
            if found is not None:
                rest = tuple(c.strip() for c in components[found:])
                specimens.append(SpecimenQuery(components[found - 1].strip(), rest))
        for rep in range(len(q.repeats(5))):
            parts = [c.strip() for c in q.components(5, rep=rep)]
            code = next((p for p in reversed(parts) if p), "")
            if code.upper() not in ALL_TESTS and code not in tests:
                tests.append(code)
    if not specimens:
        return None
    return HostQuery(tuple(specimens), tuple(tests))


def order_records(
    message: AstmMessage, query: HostQuery, orders: list[Order], dialect: Dialect, now: datetime
) -> list[bytes]:
    """The order download answering ``query``: one P and O per ordered specimen, ``L|1|F``.

    Specimens the centre has no orders for are left out; no orders at all gives the dialect's
    "no information" reply (:func:`no_information_records`).
    """
    by_specimen = {order.specimen_id: order for order in orders}
    asked = [
        (s, by_specimen[s.specimen_id]) for s in query.specimens if s.specimen_id in by_specimen
    ]
    if not asked:
        return no_information_records(message, query, dialect, now)
    writer = _Writer(message.delimiters, message.encoding)
    records = [_header(writer, message, now)]
    for number, (specimen, order) in enumerate(asked, start=1):
        records.append(_patient(writer, number, order))
        records.append(_order(writer, specimen, order, dialect, report_type="O"))
    records.append(writer.record("L", "1", "F"))
    return records


def no_information_records(
    message: AstmMessage, query: HostQuery | None, dialect: Dialect, now: datetime
) -> list[bytes]:
    """The dialect's way of saying "no orders for that": within the analyzer's patience."""
    writer = _Writer(message.delimiters, message.encoding)
    records = [_header(writer, message, now)]
    if dialect.no_information == "echo-query":
        records += [_raw(q.record, writer) for q in message.queries]
    elif dialect.no_information == "no-order" and query is not None:
        for number, specimen in enumerate(query.specimens, start=1):
            records.append(writer.record("P", str(number)))
            empty = Order(specimen_id=specimen.specimen_id, tests=["ALL"])
            records.append(_order(writer, specimen, empty, dialect, report_type="Y"))
        return [*records, writer.record("L", "1", "N")]
    return [*records, writer.record("L", "1", "I")]


class _Writer:
    """Builds records with the analyzer's delimiters; fields are lists of escaped components."""

    def __init__(self, delimiters: Delimiters, encoding: str) -> None:
        self.delimiters = delimiters
        self._encoding = encoding

    def leaf(self, text: str) -> str:
        return escape(text, self.delimiters)

    def components(self, *parts: str) -> str:
        return self.delimiters.component.join(self.leaf(p) for p in parts)

    def record(self, *fields: str) -> bytes:
        return self.delimiters.field.join(fields).encode(self._encoding, errors="replace")


def _header(writer: _Writer, message: AstmMessage, now: datetime) -> bytes:
    d = writer.delimiters
    analyzer = message.header.record.field(5)  # raw: already in the analyzer's delimiters
    definition = d.repeat + d.component + d.escape
    return writer.record(
        "H", definition, "", "", writer.leaf(SENDER_NAME), "", "", "", "", analyzer, "", "P",
        "LIS2-A2", now.strftime("%Y%m%d%H%M%S"),
    )  # fmt: skip


def _patient(writer: _Writer, number: int, order: Order) -> bytes:
    patient = order.patient
    if patient is None:
        return writer.record("P", str(number))
    birth = (patient.birth_date or "").replace("-", "")
    sex = _SEXES.get(patient.sex or "", "U" if patient.sex else "")
    name = writer.leaf(patient.name or "")
    return writer.record(
        "P", str(number), writer.leaf(patient.id or ""), "", "", name, "", writer.leaf(birth), sex
    )


def _order(
    writer: _Writer, specimen: SpecimenQuery, order: Order, dialect: Dialect, report_type: str
) -> bytes:
    position = ""
    if dialect.order_position_from_query and specimen.position:
        position = writer.components(*specimen.position)
    tests = writer.delimiters.repeat.join(writer.components("", "", "", t) for t in order.tests)
    action = "N" if report_type == "O" else ""
    return writer.record(
        "O", "1", writer.leaf(order.specimen_id), position, tests, order.priority, "", "", "",
        "", "", action, "", "", "", writer.leaf(order.specimen_type or ""), "", "", "", "", "",
        "", "", "", "", report_type,
    )  # fmt: skip


def _raw(record: Record, writer: _Writer) -> bytes:
    return writer.record(*record.fields)


def _at(components: list[str], number: int) -> str:
    return components[number - 1] if 1 <= number <= len(components) else ""
