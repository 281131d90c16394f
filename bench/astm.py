"""ASTM figures: decode cost next to python-astm 0.5.0 on the same frames, and its session rate.

Both decoders get the same framed messages: a synthetic 1 H + 1 P + 1 O + 20 R + L message,
one record per frame as :class:`~adapters.astm.link.AstmLink` sends, plus the whole H…L
messages of the shared corpus's framed captures when it is checked out. Ours runs the gateway's
path: :class:`FrameDecoder` over the byte stream, records reassembled across ETB frames, then
:func:`parse_records` (delimiters from H, the H→P→O→R tree). python-astm's codec has no stream
splitter, so it gets the frames already cut (a favour to it) and runs ``decode_message`` on
each, ETB chunks joined first as its Server does; it builds no tree.

The session row is python-astm's own Client and Server over loopback TCP (one record per frame,
each ACKed before the next; nothing stored): the peer figure for our end-to-end ASTM rows. It
is mostly waiting: python-astm never sets TCP_NODELAY and its client writes EOT and the next
ENQ back to back, so Nagle's algorithm holds the ENQ until the server's delayed ACK (~40 ms on
Linux), once per message; with TCP_NODELAY the same loop runs some 30x faster. The rate hence
scales with records per message (24 here); asyncio, which our link runs on, sets TCP_NODELAY.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.astm.frames import Frame, FrameDecoder, encode_frames
from adapters.astm.records import AstmMessage, parse_records
from tests.peers.python_astm import load_python_astm, python_astm_loopback

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SYNTHETIC = [
    "H|\\^&|||WardLink-bench^1.0|||||LIS||P|LIS2-A2|20240601120000",
    "P|1||BN-0042||Nguyễn^Thị Hồng||19800101|F",
    "O|1|S-1001||^^^GLU\\^^^CREA|R||20240601115500",
    *(
        f"R|{i}|^^^T{i:02d}|{4 + i / 10:.1f}|mmol/L|3.9 to 6.1|N||F||||20240601121500"
        for i in range(1, 21)
    ),
    "L|1|N",
]


@dataclass(frozen=True, slots=True)
class _Message:
    wire: bytes
    """Its frames as sent, each ending CR LF."""
    frames: list[bytes]
    records: int


def _framed(records: list[str]) -> _Message:
    frames: list[bytes] = []
    for record in records:
        frames += encode_frames(record.encode("utf-8"), (1 + len(frames)) % 8)
    return _Message(b"".join(frames), frames, len(records))


def _corpus_messages(corpus: Path) -> list[_Message]:
    """Every good H…L message of the framed captures, cut where AstmLink would emit it."""
    messages: list[_Message] = []
    for path in sorted(corpus.glob("astm_*.bin")) if corpus.is_dir() else []:
        frames: list[bytes] = []
        text = b""
        for item in FrameDecoder().receive_data(path.read_bytes()):
            if not isinstance(item, Frame) or not item.checksum_ok:
                continue
            frames.append(item.raw + b"\n" if item.raw.endswith(b"\r") else item.raw)
            text += item.text
            lines = [line for line in text.split(b"\r") if line]
            if item.final and lines and lines[-1].startswith(b"L"):
                if lines[0].startswith(b"H"):  # fragments without an H are not messages
                    messages.append(_Message(b"".join(frames), frames, len(lines)))
                frames, text = [], b""
    return messages


def _ours(message: _Message) -> AstmMessage:
    lines: list[bytes] = []
    partial = b""
    for item in FrameDecoder().receive_data(message.wire):
        if isinstance(item, Frame) and item.checksum_ok:
            partial += item.text
            if item.final:
                lines += [line for line in partial.split(b"\r") if line]
                partial = b""
    return parse_records(lines)


def _theirs(astm: Any) -> Callable[[_Message], list[list[Any]]]:
    decode, join, chunked = (
        astm.codec.decode_message,
        astm.codec.join,
        astm.codec.is_chunked_message,
    )

    def decode_frames(message: _Message) -> list[list[Any]]:
        records: list[list[Any]] = []
        chunks: list[bytes] = []
        for frame in message.frames:
            chunks.append(frame)
            if not chunked(frame):
                records += decode(join(chunks) if len(chunks) > 1 else frame, "utf-8")[1]
                chunks = []
        return records

    return decode_frames


def _rate(decode: Callable[[_Message], object], messages: list[_Message], seconds: float) -> float:
    per_round = sum(m.records for m in messages)
    rounds, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for message in messages:
            decode(message)
        rounds += 1
    return rounds * per_round / (time.perf_counter() - started)


def decode_rates(seconds: float = 2.0, corpus: Path = SHARED) -> list[tuple[str, str]]:
    messages = [_framed(SYNTHETIC), *_corpus_messages(corpus)]
    rows = [("ASTM decode, ours", f"{_rate(_ours, messages, seconds):,.0f} records/s")]
    try:
        theirs = _theirs(load_python_astm())
    except ModuleNotFoundError:
        return [*rows, ("ASTM decode, python-astm", "not installed")]
    for message in messages:  # same records on both sides, or the comparison means nothing
        blank_free = [r for r in theirs(message) if r != [None]]
        if len(blank_free) != len(_ours(message).records):
            raise AssertionError("python-astm and ours read a different number of records")
    rows.append(("ASTM decode, python-astm", f"{_rate(theirs, messages, seconds):,.0f} records/s"))
    return rows


def python_astm_session_rate(messages: int = 50) -> float:
    """Records/s from python-astm's Client to its Server: ``messages`` synthetic messages."""
    records, seconds = python_astm_loopback([line.split("|") for line in SYNTHETIC], messages)
    return records / seconds


def session_rows(messages: int = 50) -> list[tuple[str, str]]:
    name = "ASTM session, python-astm client -> server, 1 conn"
    try:
        load_python_astm()
    except ModuleNotFoundError:
        return [(name, "not installed")]
    return [(name, f"{python_astm_session_rate(messages):,.0f} records/s")]
