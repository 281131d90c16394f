"""A ward of bedside monitors: one MLLP connection per bed, PCD-01 every tick, PCD-04 on alarms.

``MonitorWard(n_beds=30, seed=...)`` admits an invented patient to each bed ``bed-01`` … (PID-3
id, PID-5 Vietnamese name, PV1-3 bed) and gives each bed a :class:`SimulatedBed` and its own
TCP connection to the gateway's ``hl7-monitor`` device, as a real ward's monitors each open
their own. Every tick, each bed steps its physiology and sends its alarm transitions (PCD-04
ORU^R40), then one PCD-01 ORU^R01 snapshot, waiting for each ACK as monitors do. Beds are
spread over the tick (``stagger``) rather than all sending at once. ``force_alarm`` makes a
bed desaturate now and sends the alarm at once (tests, latency probes).

Everything sent is recorded (:attr:`MonitorWard.sent`): control id (MSH-10) → bed, kind, the
MDC codes of its numerics, ``time.time()`` just before the frame was written, the ACK code and
when it came. A message without a positive ACK (AA/CA) is also in :attr:`MonitorWard.failures`.

Command line (an engineer testing a ward node with no monitors)::

    python -m tests.hardware_sim.monitor_ward --connect 127.0.0.1:6661 --beds 30 --rate 1 \\
        --duration 60 [--alarm-every 10]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from drivers.base import DriverError
from tests.hardware_sim.hl7_sender import Hl7Sender
from tests.hardware_sim.monitor import HR, LIMITS, SPO2, SimulatedBed, control_id_of
from tests.hardware_sim.monitor_ward_patients import Admission, admit
from tests.hardware_sim.monitor_ward_sent import POSITIVE_ACKS, Kind, Sent

__all__ = ["MonitorWard", "Sent"]


@dataclass
class _Monitor:
    admission: Admission
    sim: SimulatedBed
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sender: Hl7Sender | None = None


class MonitorWard:
    """``n_beds`` monitors, each on its own MLLP connection (see the module docstring)."""

    def __init__(
        self,
        n_beds: int = 30,
        seed: int = 0,
        *,
        rate_hz: float = 1.0,
        nibp_every: int = 300,
        episode_rate: float = 0.0005,
        point_of_care: str = "ICU",
        control_prefix: str = "",
        ack_timeout_s: float = 10.0,
        stagger: bool = True,
    ) -> None:
        if not 1 <= n_beds <= 99:
            msg = "a ward has 1 to 99 beds"
            raise ValueError(msg)
        self.rate_hz = rate_hz
        self.ack_timeout_s = ack_timeout_s
        self._rng = random.Random(seed)
        self._host = ""
        self._port = 0
        ids = self._rng.sample(range(10**7, 10**8), n_beds)
        self.monitors: dict[str, _Monitor] = {}
        for n, number in enumerate(ids, start=1):
            bed = f"bed-{n:02d}"
            admission = admit(self._rng, bed, f"BN{number}", point_of_care)
            sim = SimulatedBed(
                bed,
                admission.patient_id,
                admission.xpn,
                random.Random(self._rng.getrandbits(64)),
                etco2=True,
                nibp_every=nibp_every,
                nibp_phase=self._rng.randrange(nibp_every),
                episode_rate=episode_rate,
                point_of_care=point_of_care,
                control_prefix=control_prefix,
                birth_date=admission.birth_date,
                sex=admission.sex,
            )
            self.monitors[bed] = _Monitor(admission, sim)
        # Where in the tick each bed sends (fraction of the period).
        self._phase = {
            bed: (self._rng.random() if stagger else 0.0) for bed in sorted(self.monitors)
        }
        self.sent: dict[str, Sent] = {}
        self.failures: list[Sent] = []

    # -- reading what was sent ----------------------------------------------------------------
    @property
    def admissions(self) -> dict[str, Admission]:
        return {bed: m.admission for bed, m in self.monitors.items()}

    def backlog_snapshots(self, per_bed: int = 10, control_prefix: str = "") -> list[bytes]:
        """PCD-01 snapshots of this ward's own patients, never sent: a backlog to prefill with.

        They come from twin beds with their own random streams, so the ward's run is unchanged.
        """
        snapshots = []
        for n, admission in enumerate(self.admissions.values()):
            bed = SimulatedBed(
                admission.bed,
                admission.patient_id,
                admission.xpn,
                random.Random(n),
                etco2=True,
                nibp_every=300,
                point_of_care=admission.point_of_care,
                control_prefix=control_prefix,
            )
            for _ in range(per_bed):
                bed.step()
                snapshots.append(bed.vitals())
        return snapshots

    def acked(self, kind: Kind | None = None) -> list[Sent]:
        return [s for s in self.sent.values() if s.ok and (kind is None or s.kind == kind)]

    def numerics_acked(self) -> dict[str, Counter[str]]:
        """Per bed, per MDC code: how many numerics went out in positively ACKed messages."""
        return self._numerics(self.acked("vitals"))

    def numerics_sent(self) -> dict[str, Counter[str]]:
        """Per bed, per MDC code: how many numerics went out, ACKed or not."""
        return self._numerics([s for s in self.sent.values() if s.kind == "vitals"])

    def _numerics(self, messages: list[Sent]) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {bed: Counter() for bed in self.monitors}
        for sent in messages:
            counts[sent.bed].update(sent.numerics)
        return counts

    def alarms_acked(self) -> Counter[str]:
        """Per bed: positively ACKed PCD-04 messages (one alarm each)."""
        return Counter(sent.bed for sent in self.acked("alarm"))

    def ack_latencies(self, kind: Kind | None = None) -> list[float]:
        return [
            s.acked_at - s.sent_at
            for s in self.acked(kind)
            if s.acked_at is not None  # always, for an ACKed message
        ]

    # -- connections --------------------------------------------------------------------------
    async def connect(self, host: str, port: int) -> None:
        """Open every bed's own connection to the gateway's monitor port."""
        self._host, self._port = host, port
        await asyncio.gather(*(self._sender(m) for m in self.monitors.values()))

    async def _sender(self, monitor: _Monitor) -> Hl7Sender:
        if monitor.sender is None:
            monitor.sender = await Hl7Sender.connect(self._host, self._port)
        return monitor.sender

    async def close(self) -> None:
        for monitor in self.monitors.values():
            async with monitor.lock:
                if monitor.sender is not None:
                    await monitor.sender.close()
                    monitor.sender = None

    async def __aenter__(self) -> MonitorWard:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- sending ------------------------------------------------------------------------------
    async def run(
        self,
        *,
        ticks: int | None = None,
        duration_s: float | None = None,
        alarm_every_s: float | None = None,
    ) -> None:
        """Send ``ticks`` snapshots per bed, or for ``duration_s``, or until cancelled.

        With ``alarm_every_s``, an alarm is also forced on the next bed (round robin) that often.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = None if duration_s is None else start + duration_s
        period = 1.0 / self.rate_hz

        async def bed_loop(bed: str) -> None:
            for k in itertools.count() if ticks is None else range(ticks):
                due = start + (k + self._phase[bed]) * period
                if end is not None and due >= end:
                    return
                await asyncio.sleep(max(0.0, due - loop.time()))
                await self.tick(bed)

        done = asyncio.Event()

        async def alarm_loop(every: float) -> None:
            for k, bed in enumerate(itertools.cycle(sorted(self.monitors)), start=1):
                due = start + k * every
                if end is not None and due >= end:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), max(0.0, due - loop.time()))
                if done.is_set():  # never cut a send short: its ACK would answer the next one
                    return
                await self.force_alarm(bed)

        async with asyncio.TaskGroup() as group:
            if alarm_every_s:
                group.create_task(alarm_loop(alarm_every_s))
            await asyncio.gather(*(bed_loop(bed) for bed in sorted(self.monitors)))
            done.set()

    async def tick(self, bed: str) -> list[Sent]:
        """One step of ``bed``: its alarm transitions (PCD-04), then its snapshot (PCD-01)."""
        monitor = self.monitors[bed]
        async with monitor.lock:
            monitor.sim.step()
            records = [await self._send(monitor, m, "alarm") for m in monitor.sim.alarms()]
            vitals = monitor.sim.vitals()
            records.append(await self._send(monitor, vitals, "vitals", monitor.sim.last_numerics))
        return records

    async def force_alarm(self, bed: str, code: str = SPO2) -> list[Sent]:
        """Make ``bed`` cross its ``code`` limit now (SpO2 falls, or HR climbs) and send the alarm.

        The value then recovers over the next ticks, which ends the alarm (a PCD-04 ``end``).
        If the bed already alarms on ``code``, the alarm is sent again as an ``update``.
        """
        monitor = self.monitors[bed]
        low, high, _ = LIMITS[code]
        async with monitor.lock:
            sim = monitor.sim
            already = code in sim.alarming
            sim.force(code, low - sim.rng.uniform(4, 8) if code != HR else high + 15)
            messages = sim.alarms()
            if already:
                messages.append(sim.alarm(code, "update"))
            return [await self._send(monitor, m, "alarm", forced=True) for m in messages]

    async def _send(
        self,
        monitor: _Monitor,
        message: bytes,
        kind: Kind,
        numerics: tuple[str, ...] = (),
        *,
        forced: bool = False,
    ) -> Sent:
        record = Sent(
            control_id_of(message), monitor.admission.bed, kind, time.time(), numerics, forced
        )
        self.sent[record.control_id] = record
        try:
            sender = await self._sender(monitor)
            record.sent_at = time.time()
            ack = await sender.send(message, timeout_s=self.ack_timeout_s)
        except (OSError, TimeoutError, ConnectionError, DriverError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.failures.append(record)
            if monitor.sender is not None:  # reconnect for the next message
                with contextlib.suppress(OSError, DriverError):
                    await monitor.sender.close()
                monitor.sender = None
            return record
        record.acked_at = time.time()
        record.ack = ack.code
        if ack.code not in POSITIVE_ACKS or ack.control_id != record.control_id:
            record.error = f"{ack.code} for {ack.control_id}: {ack.text}"
            self.failures.append(record)
        return record

    # -- a summary for people -----------------------------------------------------------------
    def summary(self) -> dict[str, object]:
        def ms(values: list[float], q: int) -> float | None:
            if len(values) < 2:
                return round(values[0] * 1e3, 2) if values else None
            return round(statistics.quantiles(values, n=100)[q - 1] * 1e3, 2)

        latencies = self.ack_latencies()
        codes: Counter[str] = Counter()
        for counts in self.numerics_acked().values():
            codes.update(counts)
        return {
            "beds": len(self.monitors),
            "vitals_sent": sum(s.kind == "vitals" for s in self.sent.values()),
            "alarms_sent": sum(s.kind == "alarm" for s in self.sent.values()),
            "acked": len(self.acked()),
            "failures": len(self.failures),
            "numerics_acked": dict(sorted(codes.items())),
            "ack_ms_p50": ms(latencies, 50),
            "ack_ms_p99": ms(latencies, 99),
        }


if __name__ == "__main__":
    from tests.hardware_sim.monitor_ward_cli import main

    main()
