r"""Escape-sequence decoding shared by HL7 v2 (``\F\``) and ASTM E1394 (``&F&``).

Both standards wrap a name between two escape characters and add a hex form (``X`` + hex
digits). Unknown or broken sequences stay as sent, and scanning resumes at the closing escape
character, so a stray one ("Dr A & B") cannot swallow a real sequence after it.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping


def decode_hex(digits: str) -> str | None:
    """A hex payload: UTF-8 when the bytes are valid UTF-8, else latin-1; None if not hex."""
    try:
        data = binascii.unhexlify(digits)
    except (binascii.Error, ValueError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescape_sequences(text: str, esc: str, named: Mapping[str, str]) -> str:
    """Replace ``esc NAME esc`` by ``named[NAME]`` and ``esc X hh.. esc`` by its bytes' text."""
    if not esc or esc not in text:
        return text
    out: list[str] = []
    start = 0
    while (open_at := text.find(esc, start)) >= 0:
        close_at = text.find(esc, open_at + 1)
        if close_at < 0:
            break
        body = text[open_at + 1 : close_at]
        value = named.get(body)
        if value is None and body[:1] == "X" and len(body) > 1:
            value = decode_hex(body[1:])
        if value is None:  # not a sequence: keep the text, rescan from the closing character
            out.append(text[start:close_at])
            start = close_at
            continue
        out.append(text[start:open_at])
        out.append(value)
        start = close_at + 1
    out.append(text[start:])
    return "".join(out)
