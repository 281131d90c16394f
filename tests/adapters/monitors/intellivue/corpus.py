"""The shared IntelliVue corpus: the host request PDUs (hex blocks) and the Connect Indication."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[5] / "shared" / "corpus"
REQUESTS = SHARED / "intellivue_data_export_host_request_pdus.hex.txt"
CONNECT_INDICATION = SHARED / "intellivue_data_export_connect_indication_capture_udp24005.bin"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    return path


def request_blocks() -> dict[str, bytes]:
    """``## name`` starts a block, ``#`` lines are notes, other lines are hex bytes."""
    blocks: dict[str, bytes] = {}
    name = None
    for raw in _need(REQUESTS).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("## "):
            name = line[3:].strip()
            blocks[name] = b""
        elif line and not line.startswith("#") and name is not None:
            blocks[name] += bytes.fromhex(line)
    return blocks


def connect_indication() -> bytes:
    return _need(CONNECT_INDICATION).read_bytes()
