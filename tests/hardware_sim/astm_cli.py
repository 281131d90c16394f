"""Command line of the simulated ASTM analyzer; examples in :mod:`~.astm_analyzer`'s docstring.

Kept apart so the simulator module stays a readable API; ``python -m
tests.hardware_sim.astm_analyzer`` runs :func:`main`. One log line per message and its outcome;
the exit status is 1 when any send failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from tests.hardware_sim.astm_analyzer import AnalyzerSimulator, Options
from tests.hardware_sim.astm_faults import Faults
from tests.hardware_sim.astm_transcripts import messages_in_file, synthetic_results
from tests.hardware_sim.cli_name import prog
from tests.hardware_sim.pty_pair import PtyPair

log = logging.getLogger("astm_analyzer")


def _ordinals(text: str) -> frozenset[int]:
    return frozenset(int(n) for n in text.split(",") if n.strip())


async def _run(args: argparse.Namespace) -> int:
    faults = Faults(
        bad_checksum=_ordinals(args.bad_checksum),
        garbage_before=_ordinals(args.garbage),
        cut=_ordinals(args.cut),
        ignore_ack=_ordinals(args.ignore_ack),
        frame_delay_s=args.slow,
        contend=args.contend,
    )
    options: Options = {"faults": faults, "framed": not args.unframed}
    async with contextlib.AsyncExitStack() as stack:
        if args.pty:
            pair = stack.enter_context(PtyPair(Path(args.pty)))
            print(pair.path, flush=True)  # the gateway's serial port; sends retry until it opens
            simulator = AnalyzerSimulator.over_pty(pair, **options)
        else:
            host, _, port = (args.connect or args.listen).rpartition(":")
            if args.connect:
                simulator = await AnalyzerSimulator.connect(host, int(port), **options)
            else:
                server = AnalyzerSimulator.serve(host, int(port), **options)
                await stack.enter_async_context(server)
                log.info("listening on %s:%d for the gateway", host, server.port)
                simulator = await server.accepted()
        stack.push_async_callback(simulator.close)
        if args.query:
            for message in await simulator.query([args.query]):
                print("\n".join(record.decode("utf-8", "replace") for record in message))
            return 0
        if args.file:
            messages = messages_in_file(Path(args.file))
        else:
            messages = [synthetic_results(f"SP{n:06d}") for n in range(1, args.count + 1)]
        failed = 0
        for n, records in enumerate(messages, start=1):
            outcome = await simulator.send(records)
            failed += not outcome.completed
            result = "delivered" if outcome.completed else f"FAILED ({outcome.reason})"
            log.info("message %d (%d records): %s, %d NAKs", n, len(records), result, outcome.naks)
            if args.interval:
                await asyncio.sleep(args.interval)
        return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.astm_analyzer"),
        description="An ASTM E1381/E1394 lab analyzer (the instrument) sending results to the "
        "gateway (the host) over TCP or a virtual serial port, with faults on chosen frames.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--connect", metavar="HOST:PORT", help="dial a gateway that listens")
    where.add_argument("--listen", metavar="HOST:PORT", help="wait for a gateway that dials")
    where.add_argument("--pty", metavar="DIR", help="create a virtual serial port in DIR")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--file", help="ASTM sample to replay (.astm, .bin or .jsonl)")
    what.add_argument("--count", type=int, default=5, help="synthetic result messages to send")
    what.add_argument("--query", metavar="BARCODE", help="send a host query, print the reply")
    parser.add_argument("--unframed", action="store_true", help="bare CR records, no E1381")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between messages")
    for flag in ("--bad-checksum", "--cut", "--ignore-ack", "--garbage"):
        parser.add_argument(flag, default="", metavar="N,N", help="frame ordinals to spoil")
    parser.add_argument("--slow", type=float, default=0.0, help="seconds before each frame")
    parser.add_argument("--contend", action="store_true", help="answer the host's ENQ with ENQ")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sys.exit(asyncio.run(_run(parser.parse_args())))


if __name__ == "__main__":
    main()
