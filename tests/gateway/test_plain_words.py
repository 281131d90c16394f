"""Device errors in plain words: what ``/api/devices`` and ``wardlink devices`` show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.devices.api import plain_words


def test_os_error_codes_are_said_in_words() -> None:
    raw = "cannot connect to 10.0.0.7:5000: [Errno 111] Connect call failed ('10.0.0.7', 5000)"
    assert plain_words(raw) == "cannot connect to 10.0.0.7:5000: connection refused"
    assert plain_words("tcp://nurse:hunter2@lab:1 [Errno 98] bind; retrying") == (
        "tcp://***@lab:1 address already in use; retrying"
    )


@given(st.text(max_size=300), st.integers(min_value=0, max_value=10**30))
def test_any_text_is_shown_without_error_codes_and_never_raises(text: str, code: int) -> None:
    shown = plain_words(f"{text}[Errno {code}] {text}")
    if code < 100_000 and "[Errno" not in text:
        assert "[Errno" not in shown
