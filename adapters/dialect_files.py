"""Folders of dialect files (ASTM and HL7 alike): one ``<name>.toml`` per dialect."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=8)
def dialect_names(folder: Path) -> tuple[str, ...]:
    """Every dialect in ``folder``, sorted: ``mindray_bc.toml`` is ``mindray-bc``.

    Listed once per folder, not per message: ``auto`` asks for every message, and a listing
    needs a file descriptor, which a gateway at its open-files limit does not have (issue 11).
    """
    return tuple(sorted(p.stem.replace("_", "-") for p in folder.glob("*.toml")))
