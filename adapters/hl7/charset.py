"""MSH-18 (HL7 table 0211) to Python codecs, and strict decoding of message bytes.

MSH-18 is read from the raw bytes before decoding because the charset decides how to decode.
HL7 has no code for Windows-1258 or TCVN3, so Vietnamese devices that do not send UTF-8 are
configured with a per-device default instead. Decoding is strict: a wrong charset must become an
AE/AR, never silently replaced characters in a stored result (RELIABILITY.md (e)).

UTF-16/UTF-32 are listed for completeness, but MLLP cannot carry them (their bytes collide with
the block characters) and the byte-level MSH sniff needs an ASCII-compatible encoding.
"""

from __future__ import annotations

import codecs
import unicodedata

TABLE_0211: dict[str, str] = {
    "ASCII": "ascii",
    "8859/1": "iso8859_1",
    "8859/2": "iso8859_2",
    "8859/3": "iso8859_3",
    "8859/4": "iso8859_4",
    "8859/5": "iso8859_5",
    "8859/6": "iso8859_6",
    "8859/7": "iso8859_7",
    "8859/8": "iso8859_8",
    "8859/9": "iso8859_9",
    "8859/15": "iso8859_15",
    "ISO IR6": "ascii",
    "ISO IR14": "iso2022_jp_ext",  # JIS X 0201: Roman and half-width katakana
    "ISO IR87": "iso2022_jp",  # JIS X 0208 kanji, ISO 2022 escapes (JAHIS samples)
    "ISO IR159": "iso2022_jp_2",  # JIS X 0212 supplementary kanji
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "BIG-5": "big5",
    "UNICODE": "utf-8",  # Mindray BC sends it for UTF-8 (PROTOCOLS.md §5)
    "UNICODE UTF-8": "utf-8",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
}
"""Table 0211 codes we can decode. ``CNS 11643-1992`` has no Python codec and is refused."""

_UNICODE_CODECS = frozenset({"utf-8", "utf-16", "utf-32"})


class UnknownCharsetError(ValueError):
    """MSH-18 names a charset outside :data:`TABLE_0211`."""

    def __init__(self, msh18: str) -> None:
        super().__init__(f"unknown or unsupported MSH-18 character set {msh18!r}")
        self.msh18 = msh18


def msh18_of(raw: bytes, field_sep: int) -> str | None:
    """MSH-18 (first repetition) from raw bytes, or ``None`` when absent or empty."""
    start = raw.find(b"MSH")
    if start < 0:
        return None
    header = raw[start:].split(b"\r", 1)[0].split(b"\n", 1)[0]
    fields = header.split(bytes((field_sep,)))
    if len(fields) < 18:
        return None
    encoding_chars = fields[1]
    repetition = encoding_chars[1:2] or b"~"
    value = fields[17].split(repetition, 1)[0].strip()
    return value.decode("latin-1") if value else None


def codec_for(msh18: str | None, default: str, *, trust_msh18: bool = True) -> str:
    """Python codec for a message: MSH-18 when trusted and present, else the device default.

    Raises:
        UnknownCharsetError: MSH-18 is trusted, present and not in table 0211.
    """
    if not trust_msh18 or not msh18:
        return default
    try:
        return TABLE_0211[msh18.strip().upper()]
    except KeyError:
        raise UnknownCharsetError(msh18) from None


def decode_text(raw: bytes, codec: str) -> str:
    """Decode strictly; legacy 8-bit text is NFC-normalised, Unicode text is kept as sent.

    cp1258 spells Vietnamese with combining marks while the Vietnamese standard form is NFC, so
    names compare equal whatever the device. UTF-8 is kept exactly so it round-trips byte for byte.

    Raises:
        UnicodeDecodeError: The bytes are not valid in ``codec``.
    """
    text = raw.decode(codec)
    if text.isascii() or codecs.lookup(codec).name in _UNICODE_CODECS:
        return text
    return unicodedata.normalize("NFC", text)
