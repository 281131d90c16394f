"""Where the lab HL7 samples live: the shared corpus (when checked out beside the repo) and ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.codemap import CodeMap, load_code_map
from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / ".." / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus" / "lab"
EXAMPLE_MAP = REPO / "adapters" / "lis_analyzers" / "codemaps" / "example.csv"
SHARED_LAB_FILES = sorted(
    [
        "hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7",
        "hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7",
        "hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7",
        "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7",
        "hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7",
    ]
)
LOCAL_LAB_FILES = sorted(p.name for p in LOCAL.glob("*.hl7"))


def shared_file(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED.resolve()})")
    return path


def sample_path(name: str) -> Path:
    return LOCAL / name if name in LOCAL_LAB_FILES else shared_file(name)


def load(name: str) -> Message:
    return parse_message(sample_path(name).read_bytes())


def example_map() -> CodeMap:
    return load_code_map(EXAMPLE_MAP)
