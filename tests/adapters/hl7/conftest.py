from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "corpus" / "hl7"
SHARED_CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not checked out at {SHARED_CORPUS.resolve()}")
    return SHARED_CORPUS
