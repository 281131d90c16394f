"""``make bench``: store and forwarding throughput, printed as one table.

Rows: events/s appended to the store with group commit at the durable default (WAL + FULL)
and at the relaxed mode (envelope bytes ready, as the store sees them), then through the whole
pipeline (envelope building included); commit latency p50/p99; events/s from the store through
a real Mosquitto to the reference consumer at QoS 1; and raw paho QoS 1 publishing on the same
broker as the ceiling; HL7 and ASTM decode rates next to independent libraries on the same input,
and their peers' own session rates; a 30-bed monitor ward at 1 Hz against a gateway process
(CPU, RSS, device-to-consumer latency, with and without a 50,000-event backlog draining, next to
their aims; see ``bench/monitors.py``). Figures depend on the machine; compare rows of the same
run.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
from pathlib import Path

from bench.astm import decode_rates, session_rows
from bench.astm_session import session_rates
from bench.forwarding import bench_paho_ceiling, bench_store_to_consumer
from bench.hl7 import mllp_rates, parse_rates
from bench.intake import bench_append
from bench.monitors import monitor_rows
from tests.hardware_sim.broker import Mosquitto


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--producers", type=int, default=200)
    parser.add_argument("--hl7-messages", type=int, default=2000)
    parser.add_argument("--astm-messages", type=int, default=50)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="wardlink-bench-") as tmp:
        work = Path(tmp)
        cases = [
            ("durable", True, args.producers),
            ("relaxed", True, args.producers),
            ("durable", True, 30),  # one ward's devices
            ("durable", True, 1000),
            ("durable", False, args.producers),
        ]
        for mode, store_only, producers in cases:
            what = "store append" if store_only else "pipeline submit (envelope built)"
            result = asyncio.run(
                bench_append(
                    work / f"{mode}-{store_only}-{producers}",
                    mode,
                    args.events,
                    producers,
                    store_only=store_only,
                )
            )
            rows += [
                (f"{what}, {mode}, {producers} producers", f"{result.rate:,.0f} events/s"),
                (
                    "  commit (one fsync) p50 / p99",
                    f"{result.commit_p50 * 1e3:.2f} / {result.commit_p99 * 1e3:.2f} ms",
                ),
                (
                    "  append -> durable p50 / p99",
                    f"{result.ack_p50 * 1e3:.2f} / {result.ack_p99 * 1e3:.2f} ms",
                ),
            ]
        with Mosquitto(work / "broker") as broker:
            forwarded = asyncio.run(bench_store_to_consumer(work / "fwd", broker, args.events))
            rows += [
                ("store -> Mosquitto (PUBACKed), QoS 1", f"{forwarded.to_broker:,.0f} events/s"),
                ("store -> Mosquitto -> consumer, QoS 1", f"{forwarded.to_consumer:,.0f} events/s"),
            ]
            ceiling = bench_paho_ceiling(broker, args.events, forwarded.payload_size)
            rows.append(("raw paho publish, QoS 1, same broker (ceiling)", f"{ceiling:,.0f} msg/s"))
        rows += parse_rates()
        rows += mllp_rates(work, args.hl7_messages)
        rows += decode_rates()
        rows += session_rows(args.astm_messages)
        rows += session_rates(work, 4 * args.astm_messages)
        rows += monitor_rows(work)
    print(
        f"\nWardLink bench — {platform.node()} ({platform.machine()}, "
        f"Python {platform.python_version()}), {args.events:,} events of ~"
        f"{forwarded.payload_size} bytes\n"
    )
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure':<{width}} | {'result':>22} |")
    print(f"|{'-' * (width + 2)}|{'-' * 24}|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value:>22} |")


if __name__ == "__main__":
    main()
