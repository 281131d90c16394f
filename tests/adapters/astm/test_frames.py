"""LIS1-A frames: checksums, encoding, and a decoder that survives any byte stream."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.astm.frames import (
    ACK,
    ENQ,
    EOT,
    Control,
    Frame,
    FrameDecoder,
    Garbage,
    Item,
    checksum,
    encode_frames,
)

SHARED_CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
LOCAL = Path(__file__).resolve().parents[2] / "corpus" / "astm" / "link"
_ESCAPES = {"<CR>": "\r", "<ETX>": "\x03", "<ETB>": "\x17", "<STX>": "\x02"}


def shared(name: str) -> bytes:
    path = SHARED_CORPUS / name
    if not path.is_file():
        pytest.skip(f"shared corpus file {name} not checked out at {SHARED_CORPUS}")
    return path.read_bytes()


def checksum_vectors() -> list[tuple[str, str, str]]:
    lines = shared("astm_checksum_vectors.txt").decode("utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(text, expected.split()[0], expected) for text, expected in rows[1:]]


def unescape(text: str) -> bytes:
    text = text.removesuffix(" alone")
    for name, char in _ESCAPES.items():
        text = text.replace(name, char)
    return text.encode("utf-8")


def test_every_checksum_vector_of_the_shared_corpus() -> None:
    vectors = checksum_vectors()
    assert len(vectors) == 3
    for text, expected, note in vectors:
        body = unescape(text)
        if "code points" in note:
            # python-astm sums code points; on the wire the bytes count (PROTOCOLS.md §1).
            assert f"{sum(map(ord, body.decode())) % 256:02X}" == expected
            assert checksum(body) == "4B"
        else:
            assert checksum(body) == expected, text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"1A|B|C|D\r\x03", "BF"),
        (b"", "00"),
        (b"\xff\x01", "00"),
        (b"2P|1\r\x17", "53"),
        ("5R|2|^^^70030^^^^|Dương tính|||||F||||20130719101618||\r\x03".encode(), "FB"),
    ],
)
def test_checksum_is_the_byte_sum_mod_256_in_upper_case_hex(body: bytes, expected: str) -> None:
    assert checksum(body) == expected


def test_the_utf8_capture_verifies_byte_wise() -> None:
    [frame] = FrameDecoder().receive_data(
        shared("astm_vn_lis_capture_utf8_duong_tinh_result_frame.bin")
    )
    assert isinstance(frame, Frame)
    assert (frame.fn, frame.final, frame.checksum_ok) == (5, True, True)
    assert "Dương tính".encode() in frame.text


def test_python_astm_frames_good_then_bad_checksum() -> None:
    good, bad = FrameDecoder().receive_data(shared("astm_python_astm_codec_frames.bin"))
    # Without lf_required the frame ends at CR; the LF after it is skipped between frames.
    assert good == Frame(1, b"A|B|C|D\r", True, True, b"\x021A|B|C|D\r\x03BF\r")
    assert isinstance(bad, Frame)
    assert (bad.text, bad.checksum_ok) == (good.text, False)


def test_long_record_splits_at_240_with_etb_then_etx() -> None:
    frames = encode_frames(b"C|1|I|" + b"x" * 500, first_fn=7)
    assert [f[1:2] for f in frames] == [b"7", b"0", b"1"]
    assert [f[-5] for f in frames] == [0x17, 0x17, 0x03]
    assert [len(f) for f in frames] == [247, 247, 7 + 507 - 480]
    assert frames[-1].endswith(b"\r\x03" + checksum(frames[-1][1:-4]).encode() + b"\r\n")


@pytest.mark.parametrize("record", [b"R|1\r", b"a\x02b", b"a\nb", b"\x04"])
def test_encoding_refuses_control_bytes_in_record_text(record: bytes) -> None:
    with pytest.raises(ValueError, match="control"):
        encode_frames(record, 1)


@pytest.mark.parametrize(("first_fn", "max_text"), [(8, 240), (-1, 240), (1, 0)])
def test_encoding_refuses_bad_frame_numbers_and_sizes(first_fn: int, max_text: int) -> None:
    with pytest.raises(ValueError, match="first_fn"):
        encode_frames(b"H|\\^&", first_fn, max_text)


def test_garbage_between_frames_and_a_cut_frame_are_reported_not_fatal() -> None:
    frame = encode_frames(b"P|1", 2)[0]
    items = FrameDecoder().receive_data(b"\xffjunk\x05" + frame[:6] + b"\x04" + frame + b"\r\n")
    assert items == [
        Garbage("bytes outside a frame", b"\xffjunk"),
        Control(ENQ),
        Garbage("frame cut by a control byte", frame[:6]),
        Control(EOT),
        Frame(2, b"P|1\r", True, True, frame[:-1]),
    ]


def test_cr_only_or_no_trailer_ends_a_frame_unless_lf_is_required() -> None:
    frame = encode_frames(b"L|1|N", 3)[0]
    cr_only, bare = frame[:-1], frame[:-2]
    assert FrameDecoder().receive_data(cr_only + bare + bytes((ACK,))) == [
        Frame(3, b"L|1|N\r", True, True, cr_only),
        Frame(3, b"L|1|N\r", True, True, bare),
        Control(ACK),
    ]
    strict = FrameDecoder(lf_required=True)
    assert strict.receive_data(cr_only) == []
    assert strict.in_frame
    assert strict.receive_data(b"\n") == [Frame(3, b"L|1|N\r", True, True, frame)]


def test_lower_case_checksum_and_optional_checksum() -> None:
    lower = b"\x021A|B|C|D\r\x03bf\r\n"
    assert FrameDecoder().receive_data(lower)[0] == Frame(1, b"A|B|C|D\r", True, True, lower[:-1])
    bare = b"\x021A|B\r\x03\r\n"
    [missing] = FrameDecoder().receive_data(bare)
    [tolerated] = FrameDecoder(checksum_required=False).receive_data(bare)
    assert isinstance(missing, Frame)
    assert isinstance(tolerated, Frame)
    assert (missing.checksum_ok, tolerated.checksum_ok) == (False, True)


def test_unreadable_frame_number_and_oversized_frames() -> None:
    [odd] = FrameDecoder().receive_data(b"\x029X\x03" + checksum(b"9X\x03").encode() + b"\r\n")
    assert isinstance(odd, Frame)
    assert (odd.fn, odd.checksum_ok) == (None, True)
    decoder = FrameDecoder(max_frame_bytes=16)
    items = decoder.receive_data(b"\x021" + b"x" * 40 + b"\x03AA\r\n" + encode_frames(b"L", 1)[0])
    assert [type(item) for item in items] == [Garbage, Frame]
    assert isinstance(items[0], Garbage)
    assert "longer than 16" in items[0].reason


def corpus_frames(stream: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """Independent oracle: (FN+text+terminator, sent checksum) by regular expression."""
    return re.findall(rb"\x02([0-7][^\x02\x03\x17]*[\x03\x17])([0-9A-Fa-f]{2})(\r?\n?)", stream)


@pytest.mark.parametrize(
    "name",
    [
        "astm_phadia_results_framed_sender_stream.bin",
        "astm_long_record_etb_split_sender_stream.bin",
        "astm_roche_cobas_u411_urine_sender_stream.bin",
        "astm_roche_urisys1100_urine_sender_stream.bin",
        "astm_roche_hitachi_h7600_qc_multirecord_frames_etb_midfield.bin",
        "astm_roche_cobas_u311_tsreq_realtime_host_query.bin",
        "astm_aqualink_a9000p_query_response_results_single_frame.bin",
    ],
)
def test_every_corpus_frame_decodes_with_a_good_checksum(name: str) -> None:
    stream = shared(name)
    frames = [item for item in FrameDecoder().receive_data(stream) if isinstance(item, Frame)]
    expected = corpus_frames(stream)
    assert len(frames) == len(expected) > 0
    for frame, (body, sent, _trailer) in zip(frames, expected, strict=True):
        assert frame.checksum_ok
        assert checksum(body) == sent.decode().upper()


@pytest.mark.parametrize("path", sorted(LOCAL.glob("*.bin")), ids=lambda p: p.name)
def test_local_fixture_checksums_verify_independently(path: Path) -> None:
    stream = path.read_bytes()
    for body, sent, _trailer in corpus_frames(stream):
        assert f"{sum(body) % 256:02X}" == sent.decode()


_RECORD = st.binary(min_size=0, max_size=700).map(
    lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F) or b"L|1"
)


def feed(decoder: FrameDecoder, stream: bytes, cuts: list[int]) -> list[Item]:
    items: list[Item] = []
    edges = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for start, end in itertools.pairwise(edges):
        items += decoder.receive_data(stream[start:end])
    return items


@given(st.lists(_RECORD, min_size=1, max_size=5), st.lists(st.integers(0, 10_000)))
def test_encode_then_decode_round_trips_across_any_split(
    records: list[bytes], cuts: list[int]
) -> None:
    frames: list[bytes] = []
    for record in records:
        frames += encode_frames(record, (1 + len(frames)) % 8)
    items = feed(FrameDecoder(lf_required=True), b"".join(frames), cuts)
    assert all(isinstance(item, Frame) and item.checksum_ok for item in items)
    decoded = [item for item in items if isinstance(item, Frame)]
    assert [f.fn for f in decoded] == [(1 + i) % 8 for i in range(len(frames))]
    text = b"".join(f.text for f in decoded)
    assert text.split(b"\r")[:-1] == records


@given(st.binary(max_size=600), st.lists(st.integers(0, 1000)), st.booleans(), st.booleans())
def test_any_byte_stream_gives_items_never_an_exception(
    stream: bytes, cuts: list[int], lf_required: bool, checksum_required: bool
) -> None:
    decoder = FrameDecoder(
        lf_required=lf_required, checksum_required=checksum_required, max_frame_bytes=64
    )
    items = feed(decoder, stream, cuts)
    assert all(isinstance(item, Frame | Control | Garbage) for item in items)
