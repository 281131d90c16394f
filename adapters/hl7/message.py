"""The parsed HL7 v2 message: segments of raw fields, read through escape-aware accessors.

Fields are kept as the raw (still escaped) text between field separators, so nothing is lost or
re-encoded on the way to the store; accessors split repetitions, components and subcomponents
first and unescape each leaf last (HL7 v2 ch. 2: "split first, then unescape"). Numbering follows
the standard: ``segment.field(3)`` is SEG-3, and for MSH, ``field(1)`` is the field separator and
``field(2)`` the encoding characters, so MSH-9 is ``field(9)`` as in every HL7 document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NULL = '""'  # HL7's explicit null ("delete the stored value"), distinct from an empty field


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    fields: tuple[str, ...]
    """Raw field texts; ``fields[0]`` is the segment name, ``fields[n]`` is SEG-n."""
    delimiters: Delimiters
    _split: dict[int, tuple[tuple[tuple[str, ...], ...], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Fields already split into repetitions → components → subcomponents: mapping reads the
    same fields many times (code, text and system of OBX-3, …), so each is split once."""

    def field(self, n: int) -> str:
        """Raw text of SEG-n ('' when absent)."""
        return self.fields[n] if n < len(self.fields) else ""

    def repetitions(self, n: int) -> list[str]:
        raw = self.field(n)
        if self.name == "MSH" and n <= 2:
            return [raw]
        return raw.split(self.delimiters.repetition) if raw else []

    def component(self, n: int, c: int = 1, *, rep: int = 0, sub: int = 1) -> str:
        """Unescaped SEG-n.c (.sub) of repetition ``rep`` ('' when absent)."""
        tree = self._split.get(n)
        if tree is None:
            if self.name == "MSH" and n <= 2:
                return self.field(n) if (c, rep, sub) == (1, 0, 1) else ""
            tree = self._split[n] = _split_field(self.field(n), self.delimiters)
        try:
            leaf = tree[rep][c - 1][sub - 1]
        except IndexError:
            return ""
        return _escape.unescape(leaf, self.delimiters)

    def components(self, n: int, *, rep: int = 0) -> list[str]:
        """Unescaped components of SEG-n (first subcomponent each), read at once.

        A mapper that needs code, text and system of one field pays for one lookup, not three.
        """
        tree = self._split.get(n)
        if tree is None:
            if self.name == "MSH" and n <= 2:
                return [self.field(n)] if rep == 0 else []
            tree = self._split[n] = _split_field(self.field(n), self.delimiters)
        if rep >= len(tree):
            return []
        delimiters = self.delimiters
        return [_escape.unescape(component[0], delimiters) for component in tree[rep]]

    def text(self, n: int) -> str:
        """SEG-n.1 of the first repetition, unescaped: the common case of a simple field."""
        return self.component(n, 1)


@dataclass(frozen=True, slots=True)
class Message:
    segments: tuple[Segment, ...]
    delimiters: Delimiters
    encoding: str
    """The Python codec the bytes were decoded with (from MSH-18 or the device default)."""
    raw: bytes

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    @property
    def message_type(self) -> tuple[str, str, str]:
        """MSH-9 as (message code, trigger event, structure), e.g. ('ORU', 'R01', 'ORU_R01')."""
        msh = self.msh
        return (msh.component(9, 1), msh.component(9, 2), msh.component(9, 3))

    @property
    def control_id(self) -> str:
        return self.msh.text(10)

    @property
    def version(self) -> str:
        return self.msh.text(12)


def _split_field(raw: str, delimiters: Delimiters) -> tuple[tuple[tuple[str, ...], ...], ...]:
    if not raw:
        return ()
    if delimiters.repetition not in raw and delimiters.component not in raw:
        return ((tuple(raw.split(delimiters.subcomponent)),),)  # most fields: one component
    if delimiters.subcomponent not in raw:  # code^text^system and the like
        return tuple(
            tuple((component,) for component in repetition.split(delimiters.component))
            for repetition in raw.split(delimiters.repetition)
        )
    return tuple(
        tuple(
            tuple(component.split(delimiters.subcomponent))
            for component in repetition.split(delimiters.component)
        )
        for repetition in raw.split(delimiters.repetition)
    )


# At the end: escape imports Delimiters from this module; only the module object is needed here.
import adapters.hl7.escape as _escape  # noqa: E402
