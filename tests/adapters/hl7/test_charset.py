from __future__ import annotations

import unicodedata

import pytest

from adapters.hl7.charset import (
    TABLE_0211,
    UnknownCharsetError,
    codec_for,
    decode_text,
    msh18_of,
)


def test_every_table_entry_is_a_python_codec() -> None:
    for codec in TABLE_0211.values():
        "x".encode(codec)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"MSH|^~\\&|||||||ORU^R01|1|P|2.5||||||UNICODE UTF-8\r", "UNICODE UTF-8"),
        (b"\xe2\x80\xa8MSH|^~\\&|||||||ORU^R01|1|P|2.5||||||8859/1|||\n", "8859/1"),
        (b"MSH#$*!%#######ORU$R01#1#P#2.5######*ISO IR87#", None),  # first repetition empty
        (b"MSH|^~\\&|||||||ORU^R01|1|P|2.5\r", None),
        (b"no header", None),
    ],
)
def test_msh18_is_read_from_raw_bytes(raw: bytes, expected: str | None) -> None:
    assert msh18_of(raw, ord(raw[raw.find(b"MSH") + 3 :][:1] or b"|")) == expected


def test_codec_for() -> None:
    assert codec_for("UNICODE UTF-8", "cp1258") == "utf-8"
    assert codec_for("unicode", "cp1258") == "utf-8"
    assert codec_for(None, "cp1258") == "cp1258"
    assert codec_for("8859/1", "cp1258", trust_msh18=False) == "cp1258"
    assert codec_for("TCVN3", "cp1258", trust_msh18=False) == "cp1258"
    with pytest.raises(UnknownCharsetError, match="TCVN3"):
        codec_for("TCVN3", "utf-8")


def test_decode_text_normalises_legacy_but_keeps_utf8_exact() -> None:
    decomposed = unicodedata.normalize("NFD", "Ánh")
    assert decode_text(decomposed.encode("utf-8"), "utf-8") == decomposed
    assert decode_text(b"A\xecnh", "cp1258") == "Ánh"  # A + combining acute (0xEC) -> NFC
    with pytest.raises(UnicodeDecodeError):
        decode_text(b"\xff", "utf-8")
