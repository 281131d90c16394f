from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mllp import Frame, FramingError, MllpReceiver, encode_frame

payloads = st.lists(st.binary(max_size=200).map(lambda b: b.translate(None, b"\x0b\x1c")))


def feed(receiver: MllpReceiver, chunks: list[bytes]) -> list[Frame | FramingError]:
    items: list[Frame | FramingError] = []
    for chunk in chunks:
        items += receiver.receive_data(chunk)
    return items


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


@given(payloads, st.lists(st.integers(min_value=0)))
def test_frames_survive_any_split(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(m) for m in messages)
    assert feed(MllpReceiver(), split(stream, cuts)) == [Frame(m) for m in messages]


@given(st.lists(st.binary(max_size=300)), st.integers(min_value=1, max_value=64))
def test_any_stream_yields_items_never_raises(chunks: list[bytes], limit: int) -> None:
    items = feed(MllpReceiver(limit), chunks)
    assert all(len(i.payload) <= limit for i in items if isinstance(i, Frame))


def test_garbage_is_reported_once_per_run_and_kept() -> None:
    receiver = MllpReceiver()
    items = receiver.receive_data(b"\r\nJUNK" + encode_frame(b"A") + b"\r\n")
    assert items == [FramingError("bytes outside an MLLP frame", "garbage", b"JUNK"), Frame(b"A")]
    assert receiver.receive_data(b"more") != []
    assert receiver.receive_data(b"still the same run") == []
    assert receiver.receive_data(encode_frame(b"B")) == [Frame(b"B")]


def test_oversized_frame_is_reported_once_and_skipped() -> None:
    receiver = MllpReceiver(max_message_bytes=10)
    items = feed(receiver, [b"\x0bMSH|0123", b"456789", b"abcdef", b"\x1c\r", encode_frame(b"ok")])
    assert [type(i) for i in items] == [FramingError, Frame]
    assert isinstance(items[0], FramingError)
    assert items[0].kind == "oversized"
    assert items[0].data.startswith(b"MSH|0123")


def test_start_block_inside_a_frame_restarts() -> None:
    items = MllpReceiver().receive_data(b"\x0bMSH|partial\x0bMSH|whole\x1c\r")
    assert items == [
        FramingError("start block inside a frame", "restarted", b"MSH|partial"),
        Frame(b"MSH|whole"),
    ]


def test_encode_frame_refuses_block_bytes() -> None:
    assert encode_frame(b"MSH") == b"\x0bMSH\x1c\r"
    with pytest.raises(ValueError, match="0x0B"):
        encode_frame(b"a\x1cb")
