"""The docs describe what exists: README commands, the kinds table, ADR shape, deploy script."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.cli import build_parser
from gateway.devices.registry import DEVICE_KINDS, device_kind

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ADR_DIR = ROOT / "docs" / "adr"
ADR_HEADINGS = ("Date", "Status", "Context", "Decision", "Consequences")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _choices(parser: argparse.ArgumentParser, dest: str) -> list[str]:
    for action in parser._actions:
        if action.dest == dest and action.choices is not None:
            return list(action.choices)
    return []


def test_readme_starts_with_make_demo_then_make_test() -> None:
    text = _readme()
    first_section = text.find("\n## ")
    block = re.search(r"```[^\n]*\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README has no code block"
    assert block.start() < first_section, "the first code block must come before any section"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    commands = [c for c in commands if c]
    assert commands[:2] == ["make demo", "make test"]


def test_readme_kinds_table_lists_every_registered_kind() -> None:
    text = _readme()
    section = text.split("## Device kinds", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {re.match(r"\| `([^`]+)`", row).group(1) for row in rows}  # type: ignore[union-attr]
    assert set(DEVICE_KINDS) <= listed
    assert listed <= set(DEVICE_KINDS), "a kind in the table is not in DEVICE_KINDS"
    for row in rows:
        kind, _, connections = row.split(" | ")[:3]
        declared = device_kind(kind.strip("| `")).schemes
        assert set(re.findall(r"`([a-z0-9+]+)://`", connections)) == set(declared), row[:40]


def test_every_wardlink_command_in_readme_exists() -> None:
    parser = build_parser()
    top = _subcommands(parser)
    shown = re.findall(r"wardlink ([a-z][a-z-]*)(?: ([a-z][a-z|]*))?", _readme())
    assert shown, "README shows no wardlink command"
    for command, sub in shown:
        assert command in top, f"`wardlink {command}` is not a CLI command"
        nested = _subcommands(top[command])
        positional = _choices(top[command], f"{command}_command")
        if nested or positional:
            allowed = set(nested) | set(positional)
            for word in filter(None, sub.split("|")):
                assert word in allowed, f"`wardlink {command} {word}` is not a CLI command"


def test_readme_consume_flags_exist() -> None:
    consume = _subcommands(build_parser())["consume"]
    known = {opt for action in consume._actions for opt in action.option_strings}
    section = _readme().split("`wardlink consume` takes", 1)[1].split("\n\n", 1)[0]
    for flag in re.findall(r"`(--[a-z-]+)", section):
        assert flag in known, f"README mentions `wardlink consume {flag}`, which does not exist"


def test_readme_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    for target in set(re.findall(r"`make ([a-z]+)", _readme())):
        assert target in targets, f"`make {target}` is not a Makefile target"


ADRS = sorted(ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md"))


def test_adrs_exist() -> None:
    assert ADRS, "docs/adr/ holds no ADR"


@pytest.mark.parametrize("adr", ADRS, ids=lambda p: p.name)
def test_adr_has_nygard_headings(adr: Path) -> None:
    text = adr.read_text(encoding="utf-8")
    assert text.startswith("# "), f"{adr.name} needs a title"
    headings = re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)
    for heading in ADR_HEADINGS:
        assert heading in headings, f"{adr.name} lacks a '## {heading}' section"


def test_ci_runs_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert "make test" in lines


def test_install_script_parses() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    script = ROOT / "deploy" / "raspberrypi" / "install.sh"
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "set -euo pipefail" in script.read_text(encoding="utf-8")


def test_readme_metric_names_exist() -> None:
    from gateway.metrics import Metrics  # noqa: PLC0415 - only this test needs prometheus

    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        if family.type == "counter":  # labelled counters have no samples until first use
            names.add(f"{family.name}_total")
        names.update(sample.name for sample in family.samples)
    shown = set(re.findall(r"`(wardlink_[a-z_]+)`", _readme()))
    assert shown, "README names no metric"
    assert shown <= names, f"README names unknown metrics: {sorted(shown - names)}"
