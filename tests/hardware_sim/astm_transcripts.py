"""What the ASTM analyzer simulator sends: messages read from samples, or synthetic results.

Samples come in three shapes (``../shared/corpus/SOURCES.md``): ``.astm`` record text (CR, LF
or CRLF; some keep the frame digit glued on, ``1H|``), ``.bin`` wire bytes of a sender, and
``.jsonl`` two-way session transcripts whose ``instr`` lines are a sender's bytes. Wire bytes go
through the project's :class:`~adapters.astm.frames.FrameDecoder`, so a sample is read the way
the gateway reads it. Synthetic patients are invented.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime
from pathlib import Path

from adapters.astm.frames import Control, Frame, FrameDecoder

_GLUED_FN = re.compile(rb"^[0-7](?=[A-Z]\|)")
"""A frame number left on a record by a careless capture: ``1H|…`` is ``H|…``."""

FAMILY = ["NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "VŨ"]
GIVEN = ["THỊ ÁNH", "VĂN HÙNG", "THỊ THU HẰNG", "ĐỨC MINH", "NGỌC LAN", "QUỐC BẢO"]
# (code, unit, low, high): a chemistry panel in SI units.
PANEL = [
    ("GLU", "mmol/L", 3.9, 6.1),
    ("ALT", "U/L", 7.0, 56.0),
    ("AST", "U/L", 10.0, 40.0),
    ("CRE", "umol/L", 62.0, 106.0),
    ("URE", "mmol/L", 2.5, 7.5),
    ("NA", "mmol/L", 135.0, 145.0),
    ("K", "mmol/L", 3.5, 5.1),
    ("CHOL", "mmol/L", 3.1, 5.2),
]


def messages_in_file(path: Path) -> list[list[bytes]]:
    """Messages (lists of records without CR) in a sample, split before each H record.

    Records before the first H (a sample that is one frame, not a message) form a message of
    their own rather than being dropped: replaying a sample must not hide part of it.
    """
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        data = b"".join(bytes.fromhex(line["hex"]) for line in lines if line["dir"] == "instr")
        records = _records_on_wire(data)
    elif path.suffix == ".bin":
        records = _records_on_wire(data)
    else:
        text = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
        records = [_GLUED_FN.sub(b"", record) for record in text.split(b"\r") if record]
    messages: list[list[bytes]] = []
    for record in records:
        if not messages or _is_header(record):
            messages.append([])
        messages[-1].append(record)
    return messages


def _is_header(record: bytes) -> bool:
    return record[:1] == b"H" and len(record) > 1 and not record[1:2].isalnum()


def _records_on_wire(data: bytes) -> list[bytes]:
    """Records a receiver keeps: good frames, a resend of the frame before dropped, ETB joined."""
    records: list[bytes] = []
    text = b""
    previous: Frame | None = None
    for item in FrameDecoder().receive_data(data):
        if isinstance(item, Control):
            text, previous = b"", None  # ENQ or EOT: a new session
        elif isinstance(item, Frame) and item.checksum_ok:
            if previous is not None and (item.fn, item.text) == (previous.fn, previous.text):
                continue
            previous = item
            text += item.text
            if item.final:
                records += [record for record in text.split(b"\r") if record]
                text = b""
    return records


def header_record() -> bytes:
    """The simulator's H record, stamped now (analyzers send local time)."""
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return f"H|\\^&|||WardLinkSim^1.0^SIM001|||||||P|LIS2-A2|{now}".encode()


def query_message(specimen_ids: list[str], header: bytes | None = None) -> list[bytes]:
    r"""H, one ``Q|1|^id1\^id2||ALL||||||||O`` carrying every specimen as a repeat, L.

    Erba and Abbott analyzers ask for several specimens this way; delimiters come from
    ``header`` (default: :func:`header_record`).
    """
    header = header or header_record()
    sep, repeat, component = header[1:2], header[2:3], header[3:4]
    ids = repeat.join(component + specimen.encode() for specimen in specimen_ids)
    return [header, sep.join([b"Q", b"1", ids, b"", b"ALL", *[b""] * 7, b"O"]), b"L|1|N"]


def synthetic_results(
    specimen_id: str, n_results: int = 5, *, seed: int | None = None
) -> list[bytes]:
    """One H…L result message for an invented patient, UTF-8, ``n_results`` R records.

    Raises:
        ValueError: ``n_results`` is not between 1 and the size of :data:`PANEL`.
    """
    if not 1 <= n_results <= len(PANEL):
        raise ValueError(f"n_results must be 1-{len(PANEL)}")
    rng = random.Random(seed)
    header = header_record()
    now = header.rsplit(b"|", 1)[1].decode()
    tests = "\\".join(f"^^^{code}" for code, *_ in PANEL[:n_results])
    lines = [
        f"P|1||PT{rng.randrange(10**6):06d}||{rng.choice(FAMILY)}^{rng.choice(GIVEN)}",
        f"O|1|{specimen_id}||{tests}|R||{now}||||N||||Serum||||||||||F",
    ]
    for n, (code, unit, low, high) in enumerate(PANEL[:n_results], start=1):
        value = round(rng.uniform(low * 0.8, high * 1.2), 1)
        flag = "H" if value > high else "L" if value < low else "N"
        lines.append(f"R|{n}|^^^{code}|{value}|{unit}|{low}-{high}|{flag}||F||||{now}")
    lines.append("L|1|N")
    return [header, *(line.encode("utf-8") for line in lines)]
