r"""ASTM E1394 / CLSI LIS2-A2 records: bytes (or link-layer records) to an :class:`AstmMessage`.

Delimiters come from the H record (``H|\^&``; Erba ``H|`^&``; GeneXpert ``H|@^\``; a stored
Horiba file's doubled ``H|\\^&`` reads as ``\^&``). Records keep their raw (still escaped)
fields; accessors split repeats and components first and unescape each leaf last, as on the HL7
side. Field ``n`` counts the record-type letter as field 1, like every E1394 document: R-3 is
``record.component(3, 4)`` for ``^^^GLU``.

The records form a tree: H → P → O → R, with each C (comment) and M (manufacturer) record kept
on the record it follows; Q records are surfaced separately and L ends the message. An O before
any P gets an empty P, an R before any O an empty O, so nothing sent is dropped. A leading frame
digit left on a record (``1H|…``, ``3O|…`` in vendor examples) is removed. Garbage raises
:class:`AstmRecordError` only; one transmission holding several H…L messages (ARCHITECT sends
one per test) is read with :func:`parse_transmission`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from adapters.astm.escape import Delimiters, unescape

if TYPE_CHECKING:
    from adapters.astm.dialect import Dialect

_LINE_ENDS = {"cr": "\r", "lf": "\n"}
_ANY_LINE_END = re.compile(r"\r\n?|\n")
_FRAME_DIGIT = re.compile(r"^[0-7](?=[A-Z][^A-Za-z0-9\s])")
_HEADER = re.compile(r"H[^A-Za-z0-9\s]")
_TERMINATION_IN_SEQ = re.compile(r"\d+([A-Z])")
_LEVELS = "HPOR"
"""The result hierarchy, top down: a record's depth is its type's index here."""
_DEPTH = {kind: depth for depth, kind in enumerate(_LEVELS) if depth}


class AstmRecordError(ValueError):
    """Input that is not an E1394 message; ``reason`` says why (never patient data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Record:
    fields: tuple[str, ...]
    """Raw field texts; ``fields[0]`` is the record type, field ``n`` is ``fields[n - 1]``."""
    delimiters: Delimiters

    @property
    def type(self) -> str:
        return self.fields[0]

    def field(self, n: int) -> str:
        """Raw text of field ``n`` ('' when absent)."""
        return self.fields[n - 1] if 1 <= n <= len(self.fields) else ""

    def repeats(self, n: int) -> list[str]:
        """Raw repeats of field ``n``; H-2 (the delimiter definition) is never split."""
        raw = self.field(n)
        if self.type == "H" and n == 2:
            return [raw]
        return raw.split(self.delimiters.repeat) if raw else []

    def components(self, n: int, *, rep: int = 0) -> list[str]:
        """Unescaped components of repeat ``rep`` of field ``n`` ([] when absent)."""
        repeats = self.repeats(n)
        if rep >= len(repeats):
            return []
        if self.type == "H" and n == 2:
            return repeats
        return [unescape(c, self.delimiters) for c in repeats[rep].split(self.delimiters.component)]

    def component(self, n: int, c: int = 1, *, rep: int = 0) -> str:
        """Unescaped component ``c`` of repeat ``rep`` of field ``n`` ('' when absent)."""
        components = self.components(n, rep=rep)
        return components[c - 1] if 1 <= c <= len(components) else ""

    def text(self, n: int) -> str:
        """The first component of field ``n``, unescaped and trimmed (padding is display only)."""
        return self.component(n).strip()


@dataclass(frozen=True, slots=True)
class Node:
    """A record with what hangs under it, each part in the order sent.

    Children are P under H, O under P and R under O; comments are the C records and
    ``manufacturer`` the M records that followed it.
    """

    record: Record
    children: tuple[Node, ...] = ()
    comments: tuple[Record, ...] = ()
    manufacturer: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class AstmMessage:
    header: Node
    """The H record; its children are the patients."""
    queries: tuple[Node, ...]
    terminator: Record | None
    records: tuple[Record, ...]
    """Every record in the order sent, including types the tree does not use (S, vendor)."""
    delimiters: Delimiters
    encoding: str
    """The Python codec the bytes were decoded with."""

    @property
    def patients(self) -> tuple[Node, ...]:
        return self.header.children

    def orders(self) -> Iterator[tuple[Node, Node]]:
        """Every (patient, order) pair in the order sent."""
        for patient in self.patients:
            for order in patient.children:
                yield patient, order

    @property
    def termination_code(self) -> str | None:
        """L-3 (``N`` normal, ``I`` no information…); reads the malformed ``L|1N`` too."""
        if self.terminator is None:
            return None
        code = self.terminator.text(3)
        malformed = _TERMINATION_IN_SEQ.fullmatch(self.terminator.text(2))
        return code or (malformed[1] if malformed else None)


def parse_transmission(
    data: bytes | list[bytes], *, encoding: str = "utf-8", dialect: Dialect | None = None
) -> list[AstmMessage]:
    """Every H…L message of one transmission (an L may be missing between them).

    Arguments and errors are those of :func:`parse_records`, without the single-H rule.
    """
    lines = _lines(data, encoding, dialect)
    if not lines:
        raise AstmRecordError("no records")
    starts = [i for i, line in enumerate(lines) if line[0] == "H" and _HEADER.match(line)]
    if not starts or starts[0] != 0:
        raise AstmRecordError("the first record is not an H record")
    bounds = [*starts[1:], len(lines)]
    return [_message(lines[start:end], encoding) for start, end in zip(starts, bounds, strict=True)]


def parse_records(
    message: bytes | list[bytes], *, encoding: str = "utf-8", dialect: Dialect | None = None
) -> AstmMessage:
    """One H…L message.

    Args:
        message: The message bytes (records separated by CR, or LF/CRLF per the dialect), or
            the records as the link layer reassembled them, one per item.
        encoding: The Python codec the device writes text in (ASTM has no charset field).
        dialect: Its ``line_ending`` says how records are separated; ``None`` accepts CR, LF
            and CRLF.

    Raises:
        AstmRecordError: undecodable bytes, no leading H record, unusable delimiters, or a
            second H record (use :func:`parse_transmission`).
    """
    messages = parse_transmission(message, encoding=encoding, dialect=dialect)
    if len(messages) > 1:
        raise AstmRecordError("several H records: read the transmission with parse_transmission")
    return messages[0]


def _lines(data: bytes | list[bytes], encoding: str, dialect: Dialect | None) -> list[str]:
    """Decoded, non-empty records, a leading frame digit removed."""
    raw = data if isinstance(data, bytes) else b"\r".join(data)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise AstmRecordError(f"byte {exc.start} is not {encoding}") from exc
    except LookupError as exc:
        raise AstmRecordError(f"unknown encoding {encoding!r}") from exc
    line_end = _LINE_ENDS.get(dialect.line_ending) if dialect is not None else None
    if line_end is not None:
        lines = [part.strip("\r\n") for part in text.split(line_end)]
    elif "\n" in text:
        lines = [part.strip("\r\n") for part in _ANY_LINE_END.split(text)]
    else:  # CR only, the E1394 way: nothing left to strip
        lines = text.split("\r")
    lines = [_FRAME_DIGIT.sub("", line, count=1) if line[:1].isdigit() else line for line in lines]
    return [line for line in lines if line.strip()]


def _delimiters(header: str) -> Delimiters:
    r"""From ``H|\^&``: field, then repeat, component, escape; ``\\^&`` reads as ``\^&``."""
    field_char = header[1:2]
    definition = header[2:].split(field_char, 1)[0] if field_char else ""
    return _declared(field_char, definition)


@lru_cache(maxsize=64)
def _declared(field_char: str, definition: str) -> Delimiters:
    """Checked once per distinct declaration: a device sends the same one in every message."""
    if len(definition) == 4 and definition[0] == definition[1]:
        definition = definition[1:]
    chars = set(field_char + definition)
    if len(definition) != 3 or len(chars) != 4:
        raise AstmRecordError("the H record does not declare four distinct delimiters")
    if any(c.isalnum() or c.isspace() for c in chars):
        raise AstmRecordError("the H record declares letters, digits or spaces as delimiters")
    return Delimiters(field_char, definition[0], definition[1], definition[2])


class _Builder:
    """A record of the tree being read, with what hangs under it so far."""

    __slots__ = ("children", "comments", "manufacturer", "record")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.children: list[_Builder] = []
        self.comments: list[Record] = []
        self.manufacturer: list[Record] = []

    def freeze(self) -> Node:
        return Node(
            self.record,
            tuple([child.freeze() for child in self.children]),
            tuple(self.comments),
            tuple(self.manufacturer),
        )


def _message(lines: list[str], encoding: str) -> AstmMessage:
    delimiters = _delimiters(lines[0])
    field_char = delimiters.field
    records = tuple([Record(tuple(line.split(field_char)), delimiters) for line in lines])
    last = _Builder(records[0])
    path = [last]  # the open H, P, O and R, top down: a record at depth d hangs on path[d - 1]
    queries: list[_Builder] = []
    terminator: Record | None = None
    for record in records[1:]:
        kind = record.fields[0]
        depth = _DEPTH.get(kind)
        if depth is not None:
            del path[depth:]  # a P closes the previous patient's orders and results
            while len(path) < depth:  # an O before any P gets an empty P, and so on
                path[-1].children.append(
                    empty := _Builder(Record((_LEVELS[len(path)],), delimiters))
                )
                path.append(empty)
            last = _Builder(record)
            path[-1].children.append(last)
            path.append(last)
        elif kind == "Q":
            last = _Builder(record)
            queries.append(last)
        elif kind == "C":
            last.comments.append(record)
        elif kind == "M":
            last.manufacturer.append(record)
        elif kind == "L":
            terminator = record
    return AstmMessage(
        header=path[0].freeze(),
        queries=tuple([query.freeze() for query in queries]),
        terminator=terminator,
        records=records,
        delimiters=delimiters,
        encoding=encoding,
    )
