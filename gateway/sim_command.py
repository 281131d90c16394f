"""``wardlink sim``: the device simulators, for an engineer testing a ward node with no devices.

The simulators live in the source tree (``tests/hardware_sim/``, next to the packages), not in
the wheel: they are test equipment. This command replaces itself with one (``exec``), so the
gateway never imports test code, and says where to get them when the tree is not there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gateway.devices.registry import DEVICE_KINDS, device_kind

SOURCE_TREE = Path(__file__).resolve().parents[1]
_TOOLS: dict[str, tuple[str, str]] = {
    "fault-proxy": ("fault_proxy", "a TCP proxy adding latency, cuts, half-open links"),
    "ward": ("ward", "the whole simulated ward of make demo"),
}
"""Simulators that stand in for no single kind; each kind names its own in its declaration."""


def simulators() -> dict[str, tuple[str, str]]:
    """Simulator name → (module under ``tests/hardware_sim``, one line), kinds' first."""
    named = (device_kind(kind).simulator for kind in DEVICE_KINDS)
    by_kind = {sim.name: (sim.module, sim.description) for sim in named if sim is not None}
    return {**by_kind, **_TOOLS}


def add_sim_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    known = simulators()
    sim = commands.add_parser(
        "sim",
        help="run a device simulator (from the source tree)",
        description="Run a device simulator; wardlink sim NAME --help shows its options.",
        epilog="simulators:\n"
        + "\n".join(f"  {name:<12} {text}" for name, (_, text) in known.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("name", choices=sorted(known), metavar="NAME", help="which simulator")
    sim.add_argument("args", nargs=argparse.REMAINDER, help="the simulator's own arguments")
    sim.set_defaults(func=run_simulator)


def run_simulator(args: argparse.Namespace) -> int:
    module, _ = simulators()[args.name]
    if not (SOURCE_TREE / "tests" / "hardware_sim" / f"{module}.py").is_file():
        print(
            f"wardlink sim: the simulators are not installed here (looked in {SOURCE_TREE}/tests);"
            " they ship with the source tree: git clone the repository and run it from there",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_TREE), env.get("PYTHONPATH")]))
    # Its --help then names the command the user typed (tests/hardware_sim/cli_name.py).
    env["WARDLINK_SIM_PROG"] = f"wardlink sim {args.name}"
    # The simulator replaces this process, so signals (systemd, kill, Ctrl-C) reach it
    # directly. Our own interpreter and a module from the fixed table: nothing untrusted.
    command = [sys.executable, "-m", f"tests.hardware_sim.{module}", *args.args]
    os.execve(sys.executable, command, env)  # noqa: S606
