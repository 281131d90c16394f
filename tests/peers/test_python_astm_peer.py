"""python-astm 0.5.0, written by others, against our sans-IO link and our record parser.

As a peer its Client plays the analyzer against :class:`AstmLink` (host role); as an oracle its
codec reads every framed capture of the shared corpus beside ours. Where the two disagree, the
test names the difference instead of hiding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.astm.dialect_link import HOST
from adapters.astm.frames import Frame, FrameDecoder
from adapters.astm.link import AstmLink
from adapters.astm.link_events import FrameRejected, MessageReceived
from adapters.astm.records import Record, parse_records, parse_transmission
from tests.peers.python_astm import AstmField, load_python_astm, send_with_python_astm

try:
    ASTM: Any = load_python_astm()
except ModuleNotFoundError:
    pytest.skip(
        "python-astm is not installed: python -m tests.peers.python_astm install",
        allow_module_level=True,
    )

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FRAMED = sorted(p.name for p in SHARED.glob("astm_*.bin")) if SHARED.is_dir() else []


def _test_id(code: str) -> list[AstmField]:
    return [None, None, None, code]


GLU, CREA, ALT = _test_id("GLU"), _test_id("CREA"), _test_id("ALT")
MESSAGE: list[list[AstmField]] = [
    ["H", "\\^&", None, None, ["WardLink peer", "1"], None, None, None, None, "LIS", None, "P"],
    ["P", "1", None, "BN-0042", None, ["Nguyễn", "Thị Hồng"], None, "19800101", "F"],
    ["O", "1", "S-1001", None, [GLU, CREA, ALT], "R"],
    ["R", "1", GLU, "5.4", "mmol/L", "3.9 to 6.1", "N", None, "F"],
    ["R", "2", CREA, "88", "umol/L", "45 to 90", "N", None, "F"],
    ["R", "3", ALT, "61", "U/L", "0 to 40", "H", None, "F"],
    ["L", "1", "N"],
]
ON_THE_WIRE = [
    "H|\\^&|||WardLink peer^1|||||LIS||P",
    "P|1||BN-0042||Nguyễn^Thị Hồng||19800101|F",
    "O|1|S-1001||^^^GLU\\^^^CREA\\^^^ALT|R",
    "R|1|^^^GLU|5.4|mmol/L|3.9 to 6.1|N||F",
    "R|2|^^^CREA|88|umol/L|45 to 90|N||F",
    "R|3|^^^ALT|61|U/L|0 to 40|H||F",
    "L|1|N",
]
"""What python-astm's encoder makes of MESSAGE: written out here, not computed by it."""


@dataclass
class _Host:
    """Our link in the host role on one TCP connection; every message accepted (or rejected)."""

    reject: bool = False
    received: list[MessageReceived] = field(default_factory=list)
    rejected: list[FrameRejected] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link, loop = AstmLink(HOST), asyncio.get_running_loop()
        try:
            while True:
                deadline = link.next_deadline()
                wait = None if deadline is None else max(0.0, deadline - loop.time())
                try:
                    data = await asyncio.wait_for(reader.read(4096), wait)
                except TimeoutError:
                    link.handle_timeout(loop.time())
                else:
                    if not data:
                        return
                    link.receive_data(data, loop.time())
                for event in link.events():
                    if isinstance(event, MessageReceived):
                        self.received.append(event)
                        answer = link.reject if self.reject and event.held else link.accept
                        answer(event.message_id)
                    elif isinstance(event, FrameRejected):
                        self.rejected.append(event)
                writer.write(link.data_to_send())
                await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def astm_host(*, reject: bool = False) -> AsyncIterator[tuple[_Host, int]]:
    host = _Host(reject)
    server = await asyncio.start_server(host.handle, "127.0.0.1", 0)
    async with server:
        yield host, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    "chunk_size",
    [None, 20],
    ids=["frame-per-record", "etb-frames-cut-inside-utf8"],
)
async def test_python_astm_client_delivers_records_intact(chunk_size: int | None) -> None:
    async with astm_host() as (host, port):
        await asyncio.to_thread(
            send_with_python_astm, "127.0.0.1", port, [MESSAGE, MESSAGE], chunk_size=chunk_size
        )
    assert host.rejected == []
    assert [m.held for m in host.received] == [True, True]
    expected = [line.encode("utf-8") for line in ON_THE_WIRE]
    assert [m.records for m in host.received] == [expected, expected]
    if chunk_size is not None:  # the case is only worth having if a character is really cut
        frames = FrameDecoder().receive_data(host.received[0].raw)
        assert any(isinstance(f, Frame) and not _decodes(f.text) for f in frames)

    message = parse_records(host.received[0].records)
    (patient,) = message.patients
    assert patient.record.components(6) == ["Nguyễn", "Thị Hồng"]
    (order,) = patient.children
    assert [order.record.component(5, 4, rep=i) for i in range(3)] == ["GLU", "CREA", "ALT"]
    results = [
        (r.record.component(3, 4), r.record.text(4), r.record.text(7)) for r in order.children
    ]
    assert results == [("GLU", "5.4", "N"), ("CREA", "88", "N"), ("ALT", "61", "H")]
    assert message.termination_code == "N"


async def test_send_with_python_astm_raises_when_the_message_is_refused() -> None:
    async with astm_host(reject=True) as (host, port):
        with pytest.raises(RuntimeError, match="L record refused"):
            await asyncio.to_thread(send_with_python_astm, "127.0.0.1", port, [MESSAGE])
    assert host.received[0].held


def _decodes(text: bytes) -> bool:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _field_text(value: Any) -> str:
    """python-astm's decoded field back to its text: None is empty, lists are joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value[0], list):
        return "\\".join(_field_text(repeat) for repeat in value)
    return "^".join(_field_text(component) for component in value)


def _theirs(data: bytes) -> tuple[list[tuple[int, bool]], list[list[Any]]]:
    """python-astm's reading: (FN, checksum good) per frame, and the records of good frames.

    Its codec has no stream splitter; frames end at CR LF as its Server's terminator says, and
    ETB chunks are joined before decoding, as the Server means to (see the module docstring).
    """
    verdicts: list[tuple[int, bool]] = []
    records: list[list[Any]] = []
    chunks: list[bytes] = []
    for frame in re.findall(rb"\x02[^\x02]*?\r\n", data):
        try:
            seq, _records, _checksum = ASTM.codec.decode_message(frame, "utf-8")
        except AssertionError:  # python-astm checks the checksum with assert
            verdicts.append((int(frame[1:2]), False))
            continue
        verdicts.append((seq, True))
        chunks.append(frame)
        if not ASTM.codec.is_chunked_message(frame):
            whole = ASTM.codec.join(chunks) if len(chunks) > 1 else frame
            records += ASTM.codec.decode_message(whole, "utf-8")[1]
            chunks = []
    return verdicts, records


def _ours(data: bytes) -> tuple[list[tuple[int, bool]], list[Record]]:
    """FrameDecoder, records reassembled as AstmLink does, then parse_transmission."""
    frames = [item for item in FrameDecoder().receive_data(data) if isinstance(item, Frame)]
    lines: list[bytes] = []
    partial = b""
    for frame in frames:
        if frame.checksum_ok:
            partial += frame.text
            if frame.final:
                lines += [line for line in partial.split(b"\r") if line]
                partial = b""
    fragment = not lines[0].startswith(b"H")
    if fragment:  # a capture of a few frames: our parser learns delimiters from an H only
        lines.insert(0, b"H|\\^&")
    records = [r for message in parse_transmission(lines) for r in message.records]
    return [(f.fn if f.fn is not None else -1, f.checksum_ok) for f in frames], records[fragment:]


@pytest.mark.parametrize("name", FRAMED or ["(shared corpus absent)"])
def test_python_astm_codec_and_ours_read_the_corpus_alike(name: str) -> None:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    data = path.read_bytes()
    their_frames, their_records = _theirs(data)
    our_frames, our_records = _ours(data)
    assert our_frames == their_frames  # same frames, numbers and checksum verdicts

    # Disagreement: python-astm decodes an empty line (AQUALink's CR CR before ETX) as a record
    # [None]; we skip empty lines, as the receiver must not invent a record.
    their_records = [r for r in their_records if r != [None]]
    assert [r.type for r in our_records] == [r[0] for r in their_records]
    for ours, theirs in zip(our_records, their_records, strict=True):
        assert list(ours.fields) == [_field_text(value) for value in theirs]


def test_python_astm_reads_an_empty_line_as_a_record() -> None:
    """The one disagreement the corpus shows, pinned so a change on either side is seen."""
    frame = b"\x021H|\\^&\rL|1|N\r\r\x03"
    frame += ASTM.codec.make_checksum(frame[1:]) + b"\r\n"
    header = ["H", [[None], [None, "&"]]]
    assert ASTM.codec.decode_message(frame, "utf-8")[1] == [header, ["L", "1", "N"], [None]]
    (item,) = FrameDecoder().receive_data(frame)
    assert isinstance(item, Frame)
    assert [r.type for r in parse_records(item.text).records] == ["H", "L"]
