"""ASTM E1394 delimiters and escape sequences (LIS2-A2 §7.1.4): ``&F& &S& &R& &E& &Xhh..&``.

Callers split a field into repeats and components first and unescape each leaf last, so an
escaped delimiter never splits a value. Unescaping never raises: unknown or broken sequences
(``&Zlocal&``, a lone ``&`` in ``Dr A & B``) stay as sent, so nothing is silently lost.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from functools import lru_cache

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


def _hex(digits: str) -> str | None:
    """``&Xhh..&`` payload: UTF-8 when the bytes are valid UTF-8, else latin-1; None if not hex."""
    try:
        data = binascii.unhexlify(digits)
    except (binascii.Error, ValueError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescape(text: str, delimiters: Delimiters) -> str:
    """Replace the escape sequences in one leaf value; unknown or broken ones stay as sent."""
    esc = delimiters.escape
    if esc not in text:
        return text
    named = _named(delimiters)
    out: list[str] = []
    start = 0
    while (open_at := text.find(esc, start)) >= 0:
        close_at = text.find(esc, open_at + 1)
        if close_at < 0:
            break
        body = text[open_at + 1 : close_at]
        value = named.get(body)
        if value is None and body[:1] == "X" and len(body) > 1:
            value = _hex(body[1:])
        if value is None:  # not a sequence: keep the text, and rescan from the second char
            out.append(text[start:close_at])
            start = close_at
            continue
        out.append(text[start:open_at])
        out.append(value)
        start = close_at + 1
    out.append(text[start:])
    return "".join(out)


@lru_cache(maxsize=16)
def _escape_table(delimiters: Delimiters) -> dict[int, str]:
    esc = delimiters.escape
    table = {ord(char): f"{esc}{name}{esc}" for name, char in _named(delimiters).items()}
    table.update({ord(char): f"{esc}X{ord(char):02X}{esc}" for char in _HEX_ESCAPED})
    return table


def escape(text: str, delimiters: Delimiters) -> str:
    """Make ``text`` safe as one leaf value: the four delimiters, CR and LF escaped."""
    return text.translate(_escape_table(delimiters))
