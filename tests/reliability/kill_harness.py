"""A gateway process to kill and restart, and an analyzer that keeps streaming through it all.

Shared by the kill -9 tests and the fault-proxy tests. :class:`GatewayProcess` is
``wardlink run`` in a process of its own (as on a ward node), so SIGKILL and "same PID" mean
what they say. :class:`StreamingAnalyzer` is the ASTM simulator as a real analyzer behaves:
it sends specimen after specimen, and when a send fails (the connection dropped, no ACK in
time) it reconnects and sends the same message again, as an analyzer retransmits until it is
acknowledged. It records each specimen id once its final frame was ACKed, that is once the
gateway had committed the results: the keys for :func:`tests.reliability.accounting.account`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from adapters.astm.dialect_link import INSTRUMENT, LinkConfig
from drivers.base import OpenFailedError
from tests.e2e.harness import PYTHON, _env, async_wait_for, http_get, metric_value
from tests.hardware_sim.astm_analyzer import AnalyzerSimulator, synthetic_results
from tests.hardware_sim.broker import wait_for_port
from tests.reliability.accounting import specimen_key

# Short link timers, as in the ASTM end-to-end tests: a lost answer is noticed after 1 s, and
# the sixth attempt fails the send (LIS1-A's count), so a dead link costs seconds, not minutes.
QUICK = dataclasses.replace(INSTRUMENT, sender_timeout=1.0, busy_wait=0.5)
ANALYZER = "analyzer-1"


def analyzer_device(port: int, device_id: str = ANALYZER) -> str:
    """An ``astm-analyzer`` inventory entry listening on ``port`` (no host query)."""
    return (
        f'[[devices]]\nid = "{device_id}"\nkind = "astm-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\n[devices.options]\nhost_query = false\n'
    )


class GatewayProcess:
    """``python -m gateway run`` with its log appended to ``log``; start, kill -9, stop."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
        self.http_port = int(settings["http"]["listen"].rpartition(":")[2])
        self._proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> GatewayProcess:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [PYTHON, "-m", "gateway", "run", "--config", str(self.config)],
                stderr=log,
                env=_env(),
            )
        return self

    def wait_up(self, timeout_s: float = 30.0) -> None:
        """Until the control surface answers: signal handlers are in place by then."""
        try:
            wait_for_port("127.0.0.1", self.http_port, timeout_s)
        except OSError:
            raise AssertionError(f"gateway did not come up:\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL: no flush, no ``offline`` status, no goodbye to anyone."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait(timeout=10)
        self._proc = None
        self.kills += 1

    def stop(self) -> int:
        """SIGTERM and wait for the clean shutdown; the exit code.

        Blocking: from a test's event loop, call it through ``asyncio.to_thread``, or a fault
        proxy in that loop stops forwarding the gateway's goodbye while the test waits.
        """
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        code = self._proc.wait(timeout=30)
        self._proc = None
        return code

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def metric(self, name: str, labels: str = "") -> float:
        """A Prometheus sample from the running gateway's control surface."""
        _, body = http_get(self.http_port, "/metrics")
        return metric_value(body, name, labels)

    def __enter__(self) -> GatewayProcess:
        """Leaving kills whatever is still running; entering does not start it."""
        return self

    def __exit__(self, *_: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


class StreamingAnalyzer:
    """Send ``count`` specimens to ``host:port``, retransmitting each until it is ACKed."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        prefix: str = "SP",
        config: LinkConfig = QUICK,
        pace_s: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.prefix = prefix
        self.config = config
        self.pace_s = pace_s
        self.acked: list[str] = []
        self.failures: Counter[str] = Counter()
        """Why sends failed, each one followed by a reconnect and a retransmission."""
        self.connections = 0
        self._messages: dict[int, list[bytes]] = {}
        self._simulator: AnalyzerSimulator | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def message(self, n: int) -> list[bytes]:
        """Specimen ``n``'s message, the same bytes every time it is sent."""
        if n not in self._messages:
            self._messages[n] = synthetic_results(f"{self.prefix}{n:05d}", 5, seed=n)
        return self._messages[n]

    def start(self, count: int) -> StreamingAnalyzer:
        """Stream ``count`` specimens in a task of its own, until done or :meth:`stop`."""
        self._task = asyncio.create_task(self._run(count))
        return self

    async def stop(self) -> None:
        """End the stream: a send under way fails, as when the analyzer is switched off."""
        self._stopping = True
        if self._simulator is not None:
            await self._simulator.close()
        if self._task is not None:
            await self._task

    async def acked_more(self, more: int, timeout_s: float = 60) -> None:
        """Wait until ``more`` specimens beyond those already ACKed are ACKed."""
        target = len(self.acked) + more
        await async_wait_for(lambda: len(self.acked) >= target, timeout_s, f"{more} more ACKs")

    async def _run(self, count: int) -> None:
        n = 0
        try:
            while n < count and not self._stopping:
                if self._simulator is None:
                    try:
                        self._simulator = await AnalyzerSimulator.connect(
                            self.host, self.port, config=self.config
                        )
                    except OpenFailedError:
                        await asyncio.sleep(0.05)  # the gateway is (re)starting
                        continue
                    self.connections += 1
                outcome = await self._simulator.send(self.message(n))
                if outcome.completed:
                    self.acked.append(f"{self.prefix}{n:05d}")
                    n += 1
                    if self.pace_s:
                        await asyncio.sleep(self.pace_s)
                    continue
                if not self._stopping:
                    self.failures[_short(outcome.reason)] += 1
                await self._simulator.close()
                self._simulator = None
                await asyncio.sleep(0.05)
        finally:
            if self._simulator is not None:
                await self._simulator.close()
                self._simulator = None

    def summary(self) -> dict[str, Any]:
        return {
            "acked": len(self.acked),
            "connections": self.connections,
            "failed_sends": dict(self.failures),
        }


def stored_twice(envelopes: list[dict[str, Any]]) -> list[str]:
    """Specimens in more than one envelope (different ids): a whole message stored again.

    The gateway forgets which messages it stored when it restarts, so a message whose final
    ACK was lost to a kill, and which the analyzer therefore sent again, is stored again under
    a new id and seq. The consumer's dedupe by id cannot see it; the centre must dedupe by
    content (specimen and result). Counted and reported, never hidden.
    """
    counts = Counter(specimen_key(e) for e in envelopes)
    return sorted(key for key, n in counts.items() if key is not None and n > 1)


def _short(reason: str | None) -> str:
    """A failure reason without the peer details, to count alike failures together."""
    return (reason or "unknown").split(":")[0]
