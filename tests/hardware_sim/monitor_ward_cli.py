"""Command line of the monitor ward; usage in :mod:`~.monitor_ward`'s docstring.

Kept apart so the ward module stays a readable API; ``python -m tests.hardware_sim.monitor_ward``
runs :func:`main`. It sends until ``--duration`` ends (or Ctrl-C), logs the first failures, prints
a JSON summary, and exits 1 when any message went without a positive ACK.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging

from tests.hardware_sim import monitor_ward
from tests.hardware_sim.cli_name import prog
from tests.hardware_sim.monitor_ward import MonitorWard

log = logging.getLogger("monitor_ward")


async def _main(args: argparse.Namespace) -> int:
    host, _, port = args.connect.rpartition(":")
    ward = MonitorWard(args.beds, args.seed, rate_hz=args.rate, nibp_every=args.nibp_every)
    async with ward:
        await ward.connect(host, int(port))
        log.info("%d beds connected to %s; sending at %g Hz", args.beds, args.connect, args.rate)
        with contextlib.suppress(asyncio.CancelledError):
            await ward.run(duration_s=args.duration, alarm_every_s=args.alarm_every or None)
    for failure in ward.failures[:20]:
        log.warning("%s (%s): %s", failure.control_id, failure.kind, failure.error)
    print(json.dumps(ward.summary()), flush=True)
    return 1 if ward.failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.monitor_ward"),
        description=monitor_ward.__doc__.splitlines()[0],
    )
    parser.add_argument("--connect", required=True, metavar="HOST:PORT")
    parser.add_argument("--beds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0, help="snapshots per bed per second")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nibp-every", type=int, default=300, help="ticks between NIBP readings")
    parser.add_argument(
        "--alarm-every", type=float, default=0.0, help="force an alarm every S seconds (0: never)"
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
