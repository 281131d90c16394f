from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.scanners.lines import LineSplitter, OverlongScan, Terminator


def feed(splitter: LineSplitter, chunks: list[bytes]) -> list[bytes | OverlongScan]:
    items: list[bytes | OverlongScan] = []
    for chunk in chunks:
        items += splitter.receive_data(chunk)
    return items


@pytest.mark.parametrize(
    ("terminator", "stream", "expected"),
    [
        ("any", b"A1\rB2\nC3\r\nD4", [b"A1", b"B2", b"C3"]),
        ("cr", b"A1\rB\n2\r", [b"A1", b"B\n2"]),
        ("lf", b"A1\nB\r2\n", [b"A1", b"B\r2"]),
        ("crlf", b"A\r1\r\nB\n2\r\n", [b"A\r1", b"B\n2"]),
        ("any", b"\r\n\r\nA1\r\n\n", [b"A1"]),
    ],
)
def test_scans_end_at_the_configured_terminator(
    terminator: Terminator, stream: bytes, expected: list[bytes]
) -> None:
    assert LineSplitter(terminator).receive_data(stream) == expected


def test_partial_scan_waits_for_its_terminator() -> None:
    splitter = LineSplitter("crlf")
    assert splitter.receive_data(b"SP26112200") == []
    assert splitter.receive_data(b"01\r") == []
    assert splitter.receive_data(b"\n") == [b"SP2611220001"]


def test_overlong_scan_is_reported_once_and_the_next_scan_survives() -> None:
    splitter = LineSplitter("any", max_length=16)
    items = feed(splitter, [b"X" * 10, b"X" * 10, b"X" * 50, b"\r\nSP2611220001\r\n"])
    assert items == [OverlongScan(16), b"SP2611220001"]


def test_scan_of_exactly_max_length_passes_with_crlf_split_between_cr_and_lf() -> None:
    splitter = LineSplitter("crlf", max_length=16)
    assert feed(splitter, [b"Y" * 16 + b"\r", b"\n"]) == [b"Y" * 16]


def test_max_length_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        LineSplitter(max_length=0)


scan_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
terminators: st.SearchStrategy[Terminator] = st.sampled_from(["cr", "lf", "crlf", "any"])


@st.composite
def stream_and_cuts(draw: st.DrawFn) -> tuple[Terminator, bytes, list[int]]:
    terminator: Terminator = draw(terminators)
    suffix = {
        "cr": b"\r",
        "lf": b"\n",
        "crlf": b"\r\n",
        "any": draw(st.sampled_from([b"\r", b"\n", b"\r\n"])),
    }
    scans = draw(st.lists(scan_bytes, max_size=12))
    noise = draw(st.binary(max_size=30))
    stream = b"".join(scan + suffix[terminator] for scan in scans) + noise
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    return terminator, stream, cuts


@given(stream_and_cuts(), st.integers(1, 48))
def test_any_split_of_a_stream_gives_the_same_scans(
    case: tuple[Terminator, bytes, list[int]], max_length: int
) -> None:
    terminator, stream, cuts = case
    whole = LineSplitter(terminator, max_length).receive_data(stream)
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert feed(LineSplitter(terminator, max_length), chunks) == whole


@given(st.lists(st.binary(max_size=64), max_size=30), terminators, st.integers(1, 64))
def test_never_raises_and_never_returns_more_than_max_length(
    chunks: list[bytes], terminator: Terminator, max_length: int
) -> None:
    for item in feed(LineSplitter(terminator, max_length), chunks):
        assert isinstance(item, OverlongScan) or 0 < len(item) <= max_length
