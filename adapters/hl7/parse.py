"""The hot-path HL7 v2 parser: bytes in, :class:`Message` out, or :class:`Hl7ParseError`.

Split-based (str.split per segment, fields kept raw and unescaped lazily by the accessors), so a
20-OBX lab result parses in tens of microseconds. Senders are tolerated where the meaning is
unambiguous: LF or CR LF segment ends, junk before ``MSH`` (a U+2028 seen from Mindray), blank
trailing lines, missing trailing encoding characters. What is refused, and how it is answered:

==========================  ====  =====  =========================================================
Problem                     ACK   0357   Why
==========================  ====  =====  =========================================================
no ``MSH``                  AR    100    not a message; the sender would resend the same bytes
bad MSH-1/MSH-2             AR    102    delimiters unusable, nothing can be read reliably
unknown MSH-18              AR    103    the value is not in table 0211 ("table value not found")
bytes invalid for charset   AE    102    per brief: the device may fix its charset and resend
missing MSH-9 / MSH-10      AR    101    required field missing; no type to route, no id to ack
==========================  ====  =====  =========================================================
"""

from __future__ import annotations

import re
from functools import lru_cache

from adapters.hl7.charset import UnknownCharsetError, codec_for, decode_text, msh18_of
from adapters.hl7.errors import Hl7ParseError
from adapters.hl7.message import Delimiters, Message, Segment

_DEFAULT_ENCODING_CHARS = "^~\\&"
_FORBIDDEN_DELIMITERS = "\r\n \t\x0b\x1c"  # MLLP block bytes cannot travel in a frame
_HEADER_END = re.compile(rb"[\r\n\x0b\x1c]")
_MAX_ENCODING_CHARS = 5  # v2.7 adds the truncation character, which we read but do not use


@lru_cache(maxsize=64)
def delimiters_of(field_sep: str, encoding_chars: str) -> Delimiters:
    """Delimiters from MSH-1 and MSH-2, missing trailing ones defaulted (cached: few per site).

    Raises:
        Hl7ParseError: Duplicate, alphanumeric or whitespace delimiters, or too many of them.
    """
    if len(encoding_chars) > _MAX_ENCODING_CHARS:
        raise Hl7ParseError(f"MSH-2 {encoding_chars!r} is too long", "AR", 102, "MSH-2")
    given = encoding_chars[:4] + _DEFAULT_ENCODING_CHARS[len(encoding_chars) :]
    component, repetition, escape, subcomponent = given[0], given[1], given[2], given[3]
    chars = (field_sep, component, repetition, escape, subcomponent)
    if len(set(chars)) < len(chars) or any(
        c.isalnum() or c in _FORBIDDEN_DELIMITERS for c in chars
    ):
        raise Hl7ParseError(
            f"unusable delimiters MSH-1 {field_sep!r} MSH-2 {encoding_chars!r}", "AR", 102, "MSH-2"
        )
    return Delimiters(field_sep, component, repetition, escape, subcomponent)


def _decode(raw: bytes, start: int, default_encoding: str, trust_msh18: bool) -> tuple[str, str]:
    try:
        codec = codec_for(msh18_of(raw, raw[start + 3]), default_encoding, trust_msh18=trust_msh18)
    except UnknownCharsetError as exc:
        raise Hl7ParseError(str(exc), "AR", 103, "MSH-18") from None
    try:
        return decode_text(raw[start:], codec), codec
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise Hl7ParseError(
            f"byte 0x{raw[offset]:02X} at offset {offset} is not valid {codec} "
            "(check MSH-18 or the device's configured encoding)",
            "AE",
            102,
            None,
        ) from None


def parse_message(
    raw: bytes, *, default_encoding: str = "utf-8", trust_msh18: bool = True
) -> Message:
    """Parse one HL7 v2 message (no MLLP framing).

    Args:
        raw: The message bytes; kept unchanged in :attr:`Message.raw`.
        default_encoding: Codec when MSH-18 is empty or not trusted (per device, e.g. ``cp1258``).
        trust_msh18: False for devices known to mislabel MSH-18.

    Raises:
        Hl7ParseError: See the module table.
    """
    start = raw.find(b"MSH")
    if start < 0 or len(raw) < start + 4:
        raise Hl7ParseError("no MSH segment", "AR", 100, None)
    text, codec = _decode(raw, start, default_encoding, trust_msh18)
    if len(text) < 4 or not text.startswith("MSH"):  # NFC may merge a mark into "H"
        raise Hl7ParseError("MSH-1 field separator missing", "AR", 102, "MSH-1")
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    lines = text.split("\r")
    field_sep = text[3]
    header = lines[0].split(field_sep)
    delimiters = delimiters_of(field_sep, header[1] if len(header) > 1 else "")
    msh_fields = ("MSH", field_sep, *header[1:])
    for n in (9, 10):
        if len(msh_fields) <= n or not msh_fields[n].split(delimiters.component, 1)[0]:
            raise Hl7ParseError(f"MSH-{n} is empty", "AR", 101, f"MSH-{n}")
    segments = [Segment("MSH", msh_fields, delimiters)]
    for line in lines[1:]:
        if line and not line.isspace():
            fields = tuple(line.split(field_sep))
            segments.append(Segment(fields[0], fields, delimiters))
    return Message(tuple(segments), delimiters, codec, raw)


def salvage_header(raw: bytes) -> Message:
    """Best-effort MSH of unparseable bytes, to address a reject to the sender; never raises.

    Decoded as latin-1 (lossless), so echoed fields such as MSH-10 go back byte for byte when the
    answer is encoded with :attr:`Message.encoding`. Unusable delimiters fall back to the defaults
    and an empty header.
    """
    start = raw.find(b"MSH")
    # A header ends at CR or LF, and at an MLLP block byte: nothing after one belongs to it.
    line = _HEADER_END.split(raw[start:], 1)[0] if start >= 0 else b""
    text = line.decode("latin-1")
    try:
        field_sep = text[3]
        header = text.split(field_sep)
        delimiters = delimiters_of(field_sep, header[1] if len(header) > 1 else "")
        fields = ("MSH", field_sep, *header[1:])
    except (IndexError, Hl7ParseError):
        delimiters = Delimiters()
        fields = ("MSH", delimiters.field, _DEFAULT_ENCODING_CHARS)
    return Message((Segment("MSH", fields, delimiters),), delimiters, "latin-1", raw)
