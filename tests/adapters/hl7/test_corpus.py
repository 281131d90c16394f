"""Every HL7 sample of the shared corpus parses, and agrees with python-hl7."""

from __future__ import annotations

import re
from pathlib import Path

import hl7
import pytest

from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message
from adapters.mllp import Frame, MllpReceiver
from tests.adapters.hl7.conftest import SHARED_CORPUS, shared_corpus


def corpus_names(pattern: str) -> list[str]:
    return sorted(p.name for p in SHARED_CORPUS.glob(pattern)) if SHARED_CORPUS.is_dir() else []


def messages_of(path: Path) -> list[bytes]:
    if "mllp" not in path.name:
        return [path.read_bytes()]
    items = MllpReceiver().receive_data(path.read_bytes())
    assert all(isinstance(item, Frame) for item in items)
    return [item.payload for item in items if isinstance(item, Frame)]


def naive_segments(raw: bytes) -> list[list[str]]:
    return [line.split("|") for line in re.split(r"[\r\n]+", raw.decode()) if line.strip()]


def check(raw: bytes) -> Message:
    message = parse_message(raw)
    expected = naive_segments(raw)
    assert [s.name for s in message.segments] == [fields[0] for fields in expected]
    assert message.msh.field(9) == expected[0][8]
    assert message.control_id == expected[0][9]
    if message.message_type[0] in ("ORU", "OUL"):
        assert len(message.all("OBX")) == raw.count(b"\rOBX|")
    reference = hl7.parse(raw.decode())
    assert len(reference) == len(message.segments)
    reference_obx = [segment for segment in reference if str(segment[0]) == "OBX"]
    assert [obx.field(5) for obx in message.all("OBX")] == [
        str(obx[5]) if len(obx) > 5 else "" for obx in reference_obx
    ]
    return message


@pytest.mark.parametrize("name", corpus_names("*.hl7") + corpus_names("*mllp*.bin"))
def test_corpus_message_parses(name: str) -> None:
    for raw in messages_of(shared_corpus() / name):
        check(raw)


def test_corpus_obx_counts() -> None:
    corpus = shared_corpus()  # skips, saying so, in a bare clone
    counts = {
        name: len(parse_message((corpus / name).read_bytes()).all("OBX"))
        for name in corpus_names("hl7_o*.hl7")
    }
    assert counts["hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7"] == 27
    assert counts["hl7_oru_r01_pcd01_mindray_vs900_vitals.hl7"] == 7
    assert counts["hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7"] == 12


def test_ack_examples_parse_as_acks() -> None:
    frames = messages_of(shared_corpus() / "hl7_ack_examples_mllp.bin")
    acks = [parse_message(raw) for raw in frames]
    assert [a.message_type[0] for a in acks] == ["ACK"] * 5
    assert [a.first("MSA").text(1) for a in acks] == ["AA", "CA", "AE", "AR", "CA"]  # type: ignore[union-attr]
