r"""HL7 v2 escape sequences (ch. 2.7): unescape one leaf, escape text for one leaf.

Callers split fields into repetitions/components/subcomponents first and unescape each leaf last,
so an escaped delimiter never splits a value. Unescaping never raises: devices send lone escape
characters and patient names such as ``\`` (a crash in HL7-dotnetcore#62), and unknown sequences
(``\Cxxyy\``, ``\.sp\``...) are kept literally so nothing is silently lost.
"""

from __future__ import annotations

from functools import lru_cache

from adapters.escapes import unescape_sequences
from adapters.hl7.message import Delimiters

_FORMATTING: dict[str, str] = {"H": "", "N": "", ".br": "\n"}
"""Highlight on/off carry no text; ``.br`` is a line break in FT fields."""

_HEX_ESCAPED = "\r\x0b\x1c"
r"""Characters that would end a segment or an MLLP frame; sent as ``\Xhh\``."""


@lru_cache(maxsize=64)
def _named(delimiters: Delimiters) -> dict[str, str]:
    return {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": delimiters.escape,
        **_FORMATTING,
    }


def unescape(text: str, delimiters: Delimiters) -> str:
    """Replace the escape sequences in one leaf value; unknown or broken ones stay as sent."""
    if delimiters.escape not in text:  # nearly every leaf: skip the table lookup
        return text
    return unescape_sequences(text, delimiters.escape, _named(delimiters))


@lru_cache(maxsize=64)
def _escape_table(delimiters: Delimiters) -> dict[int, str]:
    esc = delimiters.escape
    table = {ord(char): f"{esc}{name}{esc}" for name, char in _named(delimiters).items() if char}
    table.update({ord(char): f"{esc}X{ord(char):02X}{esc}" for char in _HEX_ESCAPED})
    return table


def escape(text: str, delimiters: Delimiters) -> str:
    """Make ``text`` safe as one leaf value: delimiters, CR, LF and MLLP block bytes escaped."""
    return text.translate(_escape_table(delimiters))
