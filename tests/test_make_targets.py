"""What ``make demo`` and ``make test`` would install into a fresh venv (``make -n``: printed,
not run), so a newcomer's demo does not pull the test tools (issue 14).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _planned(target: str, venv: Path) -> list[str]:
    shown = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line for line in shown.stdout.splitlines() if "pip install" in line]


def test_make_demo_installs_only_the_demo_extra(tmp_path: Path) -> None:
    installs = _planned("demo", tmp_path / "venv")
    assert installs[-1].endswith("-m pip install -q -e '.[demo]'")
    assert not any("[test]" in line for line in installs)


def test_make_test_still_installs_the_test_extra(tmp_path: Path) -> None:
    installs = _planned("test", tmp_path / "venv")
    assert installs[-1].endswith("-m pip install -q -e '.[test]'")
