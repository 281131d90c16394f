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

SOURCE_TREE = Path(__file__).resolve().parents[1]
SIMULATORS: dict[str, tuple[str, str]] = {
    "analyzer": ("astm_analyzer", "ASTM E1381/E1394 lab analyzer over a pty or TCP, with faults"),
    "hl7-sender": ("hl7_sender", "HL7 analyzer or LIS link over MLLP, with faults"),
    "monitors": ("monitor_ward", "a ward of bedside monitors over MLLP (PCD-01, PCD-04)"),
    "intellivue": ("intellivue_monitor", "a Philips IntelliVue monitor speaking Data Export"),
    "scanner": ("scanner", "a barcode / QR scanner over a pty or TCP"),
    "fault-proxy": ("fault_proxy", "a TCP proxy adding latency, cuts, half-open links"),
    "ward": ("ward", "the whole simulated ward of `make demo`"),
}


def add_sim_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser(
        "sim",
        help="run a device simulator (from the source tree)",
        description="Run a device simulator; `wardlink sim NAME --help` shows its options.",
        epilog="simulators:\n"
        + "\n".join(f"  {name:<12} {text}" for name, (_, text) in SIMULATORS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("name", choices=sorted(SIMULATORS), metavar="NAME", help="which simulator")
    sim.add_argument("args", nargs=argparse.REMAINDER, help="the simulator's own arguments")
    sim.set_defaults(func=run_simulator)


def run_simulator(args: argparse.Namespace) -> int:
    module, _ = SIMULATORS[args.name]
    if not (SOURCE_TREE / "tests" / "hardware_sim" / f"{module}.py").is_file():
        print(
            f"wardlink sim: the simulators are not installed here (looked in {SOURCE_TREE}/tests);"
            " they ship with the source tree: git clone the repository and run it from there",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_TREE), env.get("PYTHONPATH")]))
    # The simulator replaces this process, so signals (systemd, kill, Ctrl-C) reach it
    # directly. Our own interpreter and a module from the fixed table: nothing untrusted.
    command = [sys.executable, "-m", f"tests.hardware_sim.{module}", *args.args]
    os.execve(sys.executable, command, env)  # noqa: S606
