"""Bare ASTM records over TCP (no E1381 link layer): messages from H to L, noise reported."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.astm.bare import BareMessage, BareNoise, BareRecordReader, detect_framing

MESSAGE = b"H|\\^&|||XL-200\rP|1\rO|1|S1||^^^GLU\rR|1|^^^GLU|5.4|mmol/L\rL|1|N\r"


def test_a_message_split_anywhere_comes_out_once_with_its_records() -> None:
    for cut in range(len(MESSAGE)):
        reader = BareRecordReader()
        items = reader.receive_data(MESSAGE[:cut]) + reader.receive_data(MESSAGE[cut:])
        assert items == [BareMessage(MESSAGE.rstrip(b"\r").split(b"\r"), MESSAGE)]
        assert not reader.receiving


def test_lf_crlf_and_frame_digits_end_records_too() -> None:
    reader = BareRecordReader()
    items = reader.receive_data(b"1H|\\^&\r\n2P|1\n3L|1|N\n")
    assert items == [BareMessage([b"1H|\\^&", b"2P|1", b"3L|1|N"], b"1H|\\^&\r2P|1\r3L|1|N\r")]


def test_noise_before_h_is_reported_and_a_new_h_ends_a_message_without_l() -> None:
    reader = BareRecordReader()
    items = reader.receive_data(b"garbage\rH|\\^&\rP|1\rH|\\^&\rL|1\r")
    assert items == [
        BareNoise("record outside an H…L message", b"garbage"),
        BareMessage([b"H|\\^&", b"P|1"], b"H|\\^&\rP|1\r"),
        BareMessage([b"H|\\^&", b"L|1"], b"H|\\^&\rL|1\r"),
    ]


def test_an_unfinished_message_is_handed_over_at_close_and_oversize_is_dropped() -> None:
    reader = BareRecordReader(max_bytes=64)
    assert reader.receive_data(b"H|\\^&\rP|1") == []
    assert reader.receiving
    assert reader.close() == [BareMessage([b"H|\\^&", b"P|1"], b"H|\\^&\rP|1\r")]
    items = reader.receive_data(b"H|\\^&\r" + b"R|1|" + b"9" * 100)
    assert items == [BareNoise("message exceeds 64 bytes", b"H|\\^&\rR|1|" + b"9" * 100)]
    assert not reader.receiving


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_any_byte_stream_gives_messages_or_noise_never_an_exception(chunks: list[bytes]) -> None:
    reader = BareRecordReader(max_bytes=256)
    items = [item for chunk in chunks for item in reader.receive_data(chunk)] + reader.close()
    for item in items:
        assert isinstance(item, BareMessage | BareNoise)
        if isinstance(item, BareMessage):
            assert item.records[0].lstrip(b"01234567").startswith(b"H")


def test_framing_shows_at_the_first_enq_stx_or_h_record_not_at_noise() -> None:
    assert detect_framing(b"\x00\xff noise") is None
    assert detect_framing(b"\x00\xff noise\x05") is True
    assert detect_framing(b"\r\n\x021H|\\^&") is True
    assert detect_framing(b"H|\\^&|||XL\r") is False
    assert detect_framing(b"noise\r1H|\\^&|||XL\r\x05") is False
    assert detect_framing(b"HELLO") is None  # "HE": not a delimiter after H
