r"""HL7 v2 escape sequences (ch. 2.7): unescape one leaf, escape text for one leaf.

Callers split fields into repetitions/components/subcomponents first and unescape each leaf last,
so an escaped delimiter never splits a value. Unescaping never raises: devices send lone escape
characters and patient names such as ``\`` (a crash in HL7-dotnetcore#62), and unknown sequences
(``\Cxxyy\``, ``\.sp\``...) are kept literally so nothing is silently lost.
"""

from __future__ import annotations

import binascii
from functools import lru_cache

from adapters.hl7.message import Delimiters

_FORMATTING: dict[str, str] = {"H": "", "N": "", ".br": "\n"}
"""Highlight on/off carry no text; ``.br`` is a line break in FT fields."""

_HEX_ESCAPED = "\r\x0b\x1c"
r"""Characters that would end a segment or an MLLP frame; sent as ``\Xhh\``."""


def _named(delimiters: Delimiters) -> dict[str, str]:
    return {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": delimiters.escape,
        **_FORMATTING,
    }


def _hex(digits: str) -> str | None:
    r"""``\Xhh...\`` payload: UTF-8 if the bytes are valid UTF-8, else latin-1; None if not hex."""
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
    if not esc or esc not in text:
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
        out.append(text[start:open_at])
        out.append(text[open_at : close_at + 1] if value is None else value)
        start = close_at + 1
    out.append(text[start:])
    return "".join(out)


@lru_cache(maxsize=64)
def _escape_table(delimiters: Delimiters) -> dict[int, str]:
    esc = delimiters.escape
    table = {ord(char): f"{esc}{name}{esc}" for name, char in _named(delimiters).items() if char}
    table.update({ord(char): f"{esc}X{ord(char):02X}{esc}" for char in _HEX_ESCAPED})
    return table


def escape(text: str, delimiters: Delimiters) -> str:
    """Make ``text`` safe as one leaf value: delimiters, CR, LF and MLLP block bytes escaped."""
    return text.translate(_escape_table(delimiters))
