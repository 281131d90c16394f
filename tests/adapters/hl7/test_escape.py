from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hl7.escape import escape, unescape
from adapters.hl7.message import Delimiters

D = Delimiters()


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("O\\S\\BRIEN", "O^BRIEN"),
        ("a\\F\\b\\R\\c\\T\\d\\E\\e", "a|b~c&d\\e"),
        ("line1\\.br\\line2", "line1\nline2"),
        ("\\H\\bold\\N\\ text", "bold text"),
        ("\\X4869\\", "Hi"),
        ("\\XC3A9\\", "é"),  # valid UTF-8
        ("\\XE9\\", "é"),  # not UTF-8: latin-1
        ("\\XZZ\\ \\X123\\", "\\XZZ\\ \\X123\\"),  # not hex: kept
        ("\\Cxxyy\\ \\.sp\\ \\\\", "\\Cxxyy\\ \\.sp\\ \\\\"),  # unknown: kept
        ("\\", "\\"),  # the patient name that crashed HL7-dotnetcore
        ("lone \\ here", "lone \\ here"),
        ('""', '""'),  # explicit null is the caller's business
    ],
)
def test_unescape(raw: str, text: str) -> None:
    assert unescape(raw, D) == text


def test_escape_uses_the_message_delimiters() -> None:
    d = Delimiters(field="#", component="$", repetition="*", escape="!", subcomponent="%")
    assert escape("a#b$c!d\ne", d) == "a!F!b!S!c!E!d!.br!e"
    assert escape("\r\x0b\x1c", D) == "\\X0D\\\\X0B\\\\X1C\\"


@given(st.text())
def test_escape_round_trips_any_text(text: str) -> None:
    escaped = escape(text, D)
    assert not set("|^~&\r\n\x0b\x1c") & set(escaped)
    assert unescape(escaped, D) == text


@given(st.text())
def test_unescape_never_raises(text: str) -> None:
    unescape(text, D)
