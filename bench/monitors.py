"""Bedside monitors: a 30-bed ward at 1 Hz against ``wardlink run``, with and without a backlog.

The ward (``tests.hardware_sim.monitor_ward``: one MLLP connection per bed, PCD-01 every second,
an alarm forced on the next bed every ``ALARM_EVERY_S``, and the PCD-04 ``end`` when it
recovers) runs in this process against a gateway running as a subprocess (one ``hl7-monitor``
device, ``forward = "every"``, durable store) and a real Mosquitto. A paho subscriber in this
process, with two QoS 1 sessions as the reference consumer has (alarms on their own), notes
``time.time()`` as each envelope arrives; envelopes are matched to the ward's sends by the raw
message's MSH-10, so latency is device (just before the MLLP frame is written) to consumer, the
MLLP ACK's durable commit included.

The gateway's CPU is ``utime + stime`` from ``/proc/<pid>/stat`` over the ward's run, as a share
of one core; RSS is ``VmRSS`` from ``/proc/<pid>/status``, sampled every 0.2 s (peak, and at the
end of the run).

With a backlog: 50,000 vital signs (the ward's own patients, raw HL7 included, as the gateway
stores them) are written into the store with the gateway's pipeline before it starts; the broker
is down for the ward's first seconds, then comes back and the backlog drains while the ward
keeps sending. Latency there counts messages sent once the gateway and the subscriber are both
back on the broker (earlier ones waited for the outage, not for the backlog), split by whether
the backlog was still draining when they were sent. New numerics queue behind the backlog (one
FIFO lane); alarms take the alarm lane. After the drain the store keeps the 50,000 delivered rows
(until retention or quota prunes them), as a ward node's store does after an outage.

The subscriber shares this process (and the GIL) with the ward, and the broker, the gateway and
this process share the machine's cores. Figures depend on the machine.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.monitor_run import BEDS, DURATION_S, RATE_HZ, run_ward

BACKLOG = 50_000
AIM_CPU_PCT = 5.0
AIM_RSS_MIB = 70.0
AIM_NUMERICS_P99_MS = 50.0
AIM_ALARMS_P99_MS = 100.0


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    p50, p99 = _pct(values, 50), _pct(values, 99)
    if p99 >= 1.0:
        return f"{p50:.2f} / {p99:.2f} s (n={len(values)})"
    return f"{p50 * 1e3:.1f} / {p99 * 1e3:.1f} ms (n={len(values)})"


def _aim(text: str, ok: bool) -> str:
    """A row name with its aim and whether this run met it."""
    return f"{text}: {'met' if ok else 'NOT MET'}"


def monitor_rows(work: Path) -> list[tuple[str, str]]:
    quiet = asyncio.run(run_ward(work / "ward-quiet", 0))
    busy = asyncio.run(run_ward(work / "ward-backlog", BACKLOG))
    head = f"monitor ward {BEDS} beds @ {RATE_HZ:g} Hz, {DURATION_S:.0f} s"
    numerics_p99 = _pct(quiet.latency.numerics, 99) * 1e3
    alarms_p99 = _pct(busy.during_drain.alarms, 99) * 1e3
    return [
        (
            _aim(f"{head}: gateway CPU (aim <= {AIM_CPU_PCT:g} %)", quiet.cpu_pct <= AIM_CPU_PCT),
            f"{quiet.cpu_pct:.1f} % of a core",
        ),
        (
            _aim(
                f"  gateway RSS peak / end (aim <= {AIM_RSS_MIB:g} MiB)",
                quiet.rss_peak_mib <= AIM_RSS_MIB,
            ),
            f"{quiet.rss_peak_mib:.1f} / {quiet.rss_end_mib:.1f} MiB",
        ),
        (
            _aim(
                f"  numerics device->consumer p50 / p99 (aim p99 <= {AIM_NUMERICS_P99_MS:g} ms)",
                numerics_p99 <= AIM_NUMERICS_P99_MS,
            ),
            _ms(quiet.latency.numerics),
        ),
        ("  alarms device->consumer p50 / p99", _ms(quiet.latency.alarms)),
        ("  MLLP ACK (durable commit) p50 / p99", _ms(quiet.ack)),
        (
            "  messages sent / lost / not ACKed",
            f"{quiet.sent} / {quiet.missing} / {quiet.failures}",
        ),
        (
            f"{head}, {BACKLOG:,} vital signs queued: prefill",
            f"{busy.prefill_s:.1f} s" if busy.prefill_s else "-",
        ),
        (
            "  backlog drained after the broker came back",
            f"{busy.drain_s:.1f} s ({BACKLOG / busy.drain_s:,.0f}/s)"
            if busy.drain_s
            else "did not drain",
        ),
        (
            "  gateway CPU over the run / draining / after",
            _percents(busy.cpu_pct, busy.drain_cpu_pct, busy.after_drain_cpu_pct),
        ),
        (
            _aim(
                f"  gateway RSS peak / end (aim <= {AIM_RSS_MIB:g} MiB)",
                busy.rss_peak_mib <= AIM_RSS_MIB,
            ),
            f"{busy.rss_peak_mib:.1f} / {busy.rss_end_mib:.1f} MiB",
        ),
        (
            _aim(
                f"  alarms while draining p50 / p99 (aim p99 <= {AIM_ALARMS_P99_MS:g} ms)",
                alarms_p99 <= AIM_ALARMS_P99_MS,
            ),
            _ms(busy.during_drain.alarms),
        ),
        ("    of which device -> MLLP ACK (durable)", _ms(busy.during_drain.alarm_acks)),
        ("  numerics while draining (queued behind it)", _ms(busy.during_drain.numerics)),
        ("  alarms after the drain p50 / p99", _ms(busy.after_drain.alarms)),
        ("  numerics after the drain p50 / p99", _ms(busy.after_drain.numerics)),
        ("  MLLP ACK (durable commit) p50 / p99", _ms(busy.ack)),
        ("  messages sent / lost / not ACKed", f"{busy.sent} / {busy.missing} / {busy.failures}"),
    ]


def _percents(*values: float | None) -> str:
    return " / ".join("-" if v is None else f"{v:.1f}" for v in values) + " %"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wardlink-bench-") as tmp:
        rows = monitor_rows(Path(tmp))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"| {name:<{width}} | {value:>30} |")


if __name__ == "__main__":
    main()
