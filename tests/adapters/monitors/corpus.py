"""Where the monitor samples live: the shared corpus (when checked out beside the repo) and ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus" / "monitors"
SHARED_MONITOR_FILES = sorted(
    [
        "hl7_oru_r01_pcd01_mindray_vs900_vitals.hl7",
        "hl7_oru_r01_pcd01_mindray_egateway_private_99MNDRY_codes.hl7",
        "hl7_oru_r01_pcd01_continua_bp_cuff_canonical_example.hl7",
        "hl7_oru_r01_mindray_xh80x_sentinel_values_no_patient.hl7",
        "hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7",
        "hl7_oru_w01_mindray_xh80x_waveform_header.hl7",
    ]
)
LOCAL_MONITOR_FILES = sorted(p.name for p in LOCAL.glob("*.hl7"))


def sample_path(name: str) -> Path:
    path = LOCAL / name if name in LOCAL_MONITOR_FILES else SHARED / name
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    return path


def load(name: str) -> Message:
    return parse_message(sample_path(name).read_bytes())
