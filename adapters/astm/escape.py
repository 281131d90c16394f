"""ASTM E1394 delimiters and escape sequences (LIS2-A2 §7.1.4): ``&F& &S& &R& &E& &Xhh..&``.

Callers split a field into repeats and components first and unescape each leaf last, so an
escaped delimiter never splits a value. Unescaping never raises: unknown or broken sequences
(``&Zlocal&``, a lone ``&`` in ``Dr A & B``) stay as sent, so nothing is silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from adapters.escapes import unescape_sequences

_HEX_ESCAPED = "\r\n"
"""Characters that would end a record; sent as ``&X0D&`` / ``&X0A&``."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    r"""The four delimiters an H record declares (``H|\^&``: field, repeat, component, escape)."""

    field: str = "|"
    repeat: str = "\\"
    component: str = "^"
    escape: str = "&"


def _named(delimiters: Delimiters) -> dict[str, str]:
    return {
        "F": delimiters.field,
        "S": delimiters.component,
        "R": delimiters.repeat,
        "E": delimiters.escape,
    }


def unescape(text: str, delimiters: Delimiters) -> str:
    """Replace the escape sequences in one leaf value; unknown or broken ones stay as sent."""
    if delimiters.escape not in text:  # most leaves: skip building the name table
        return text
    return unescape_sequences(text, delimiters.escape, _named(delimiters))


@lru_cache(maxsize=16)
def _escape_table(delimiters: Delimiters) -> dict[int, str]:
    esc = delimiters.escape
    table = {ord(char): f"{esc}{name}{esc}" for name, char in _named(delimiters).items()}
    table.update({ord(char): f"{esc}X{ord(char):02X}{esc}" for char in _HEX_ESCAPED})
    return table


def escape(text: str, delimiters: Delimiters) -> str:
    """Make ``text`` safe as one leaf value: the four delimiters, CR and LF escaped."""
    return text.translate(_escape_table(delimiters))
