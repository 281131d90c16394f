"""The command a simulator's ``--help`` names: ``wardlink sim NAME`` when started by it.

``python -m`` leaves argparse only the module's file name (``scanner.py``), which no user can
type; ``wardlink sim`` passes the name it was called by in an environment variable instead.
"""

from __future__ import annotations

import os

PROG_VARIABLE = "WARDLINK_SIM_PROG"  # gateway/sim_command.py sets it; gateway cannot import tests


def prog(run_directly: str) -> str:
    """The name to show, else ``run_directly``; popped: the simulator's children do not need it."""
    return os.environ.pop(PROG_VARIABLE, None) or run_directly
