"""Every ``wardlink`` help screen reads as help: plain text, and a usage line naming the command
the user typed (issue 14: RST markup and ``scanner.py [-h]`` confused a first-hour user).
"""

from __future__ import annotations

import argparse
import re

import pytest

from gateway.cli import build_parser
from gateway.sim_command import simulators
from tests.gateway.test_cli import wardlink

# Sphinx roles (:func:`x`), literals (``x``), interpreted text (`x`) and literal blocks (text::).
RST_MARKUP = re.compile(r"`|:[a-z]+:(?=`)|::$", re.MULTILINE)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(build_parser(), ()) + [("sim", name) for name in simulators()]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "wardlink")
def test_help_is_plain_text_and_names_the_typed_command(command: tuple[str, ...]) -> None:
    shown = wardlink(*command, "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"usage: {' '.join(('wardlink', *command))} ")
    assert RST_MARKUP.findall(shown.stdout) == []
    # Developer docstrings name modules and classes a user never sees.
    assert "tests.hardware_sim" not in shown.stdout
    assert "python -m" not in shown.stdout


@pytest.mark.parametrize(
    "text", [":class:`AstmLink`", "``framed=False``", "see `wardlink sim`", "Command line::\n"]
)
def test_the_markup_check_catches_docstring_markup(text: str) -> None:
    assert RST_MARKUP.search(text) is not None


def test_the_markup_check_passes_plain_help() -> None:
    assert RST_MARKUP.search("--url URL  e.g. http://127.0.0.1:9108 (ratio 3:1)\n") is None
