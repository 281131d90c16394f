"""``make demo``: a simulated ward — broker, gateway, device simulators and the central consumer.

Uses the machine's Mosquitto when there is one, otherwise an embedded amqtt broker (MQTT 3.1.1
only, which also shows the gateway's fallback). Every device kind with a simulator joins the
ward; the consumer prints one line per coded event as it arrives. Ctrl-C (or ``--duration``)
stops everything cleanly and prints the consumer's tally.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tests.hardware_sim.broker import (
    Mosquitto,
    embedded_broker,
    find_mosquitto,
    free_port,
    wait_for_port,
)
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru
from tests.hardware_sim.monitor import SimulatedBed
from tests.hardware_sim.pty_pair import PtyPair
from tests.hardware_sim.scanner import ScannerSim, connect_and_play, generated_scans

CONFIG = """\
# Written by `make demo` for the simulated ward; edit wardlink.example.toml for a real one.
config_version = 1

[gateway]
site = "demo-hospital"
ward = "icu-1"
id = "gw-demo"

[mqtt]
url = "{broker}"
reconnect_max_s = 2.0

[store]
path = "{store}"

[http]
listen = "127.0.0.1:{http_port}"

[[devices]]
id = "reception-scanner"
kind = "serial-scanner"
connection = "listen://127.0.0.1:{scanner_port}"

[[devices]]
id = "lab-scanner"
kind = "serial-scanner"
connection = "serial://{pty}?baudrate=9600"

[[devices]]
id = "hematology-analyzer"
kind = "hl7-analyzer"
connection = "listen://127.0.0.1:{analyzer_port}"
[devices.options]
code_map = "{code_map}"

[[devices]]
id = "bed-07-monitor"
kind = "hl7-monitor"
connection = "listen://127.0.0.1:{monitor_port}"
"""

CODE_MAP = Path(__file__).resolve().parents[2] / "adapters/lis_analyzers/codemaps/example.csv"


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


@contextlib.asynccontextmanager
async def _broker(choice: str, workdir: Path) -> AsyncIterator[tuple[str, str]]:
    """Yield (broker URL, MQTT version for the consumer)."""
    if choice != "embedded" and find_mosquitto():
        with Mosquitto(workdir / "mosquitto", persistence=True) as broker:
            _say(f"broker: Mosquitto on {broker.url}")
            yield broker.url, "5"
        return
    if choice == "mosquitto":
        msg = "--broker mosquitto: mosquitto is not installed"
        raise SystemExit(msg)
    async with embedded_broker() as url:
        _say(f"broker: embedded amqtt on {url} (no Mosquitto here; MQTT 3.1.1)")
        yield url, "3.1.1"


async def _wait_for_line(
    path: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None:
            msg = f"the gateway exited ({process.returncode}):\n{path.read_text()[-3000:]}"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {text!r} in {path}"
            raise TimeoutError(msg)
        await asyncio.sleep(0.1)


async def _analyzer(port: int, rng: random.Random) -> None:
    """A haematology analyzer posting a CBC every 3 s, waiting for each ACK as real ones do."""
    sender = await Hl7Sender.connect("127.0.0.1", port)
    try:
        for n in itertools.count(1):
            ack = await sender.send(synthetic_oru(rng, f"CBC{n:05d}"))
            if ack.code != "AA":
                _say(f"analyzer got {ack.code}: {ack.text}")
            await asyncio.sleep(3)
    finally:
        await sender.close()


async def _monitor(port: int) -> None:
    """Bed 7's monitor: vitals every 2 s; the SpO2 dips once, raising an alarm, then recovers."""
    bed = SimulatedBed("Bed07", "PT-0007", "PHẠM^MINH^ĐỨC", random.Random(7))
    sender = await Hl7Sender.connect("127.0.0.1", port)
    try:
        for n in itertools.count(1):
            bed.step()
            if n in (3, 4):
                bed.values["150456"] = 86.0  # a desaturation the nurse must see first
            for message in [*bed.alarms(), bed.vitals()]:
                await sender.send(message)
            await asyncio.sleep(2)
    finally:
        await sender.close()


async def run_ward(workdir: Path, *, broker_choice: str, duration_s: float | None) -> int:
    workdir = workdir.resolve()  # device paths in the config must be absolute
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with _broker(broker_choice, workdir) as (broker_url, mqtt_version):
        with PtyPair(workdir) as pty:
            scanner_port, analyzer_port, monitor_port = free_port(), free_port(), free_port()
            config = workdir / "wardlink.toml"
            config.write_text(
                CONFIG.format(
                    broker=broker_url,
                    store=workdir / "outbox.db",
                    http_port=free_port(),
                    scanner_port=scanner_port,
                    pty=pty.path,
                    analyzer_port=analyzer_port,
                    monitor_port=monitor_port,
                    code_map=CODE_MAP,
                )
            )
            consumer = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "consume",
                    "--broker",
                    broker_url,
                    "--pretty",
                    "--mqtt",
                    mqtt_version,
                    "--clean",
                    "--client-id",
                    "demo-centre",
                ],
                env=env,
            )
            _say("consumer: `wardlink consume --pretty` — coded events appear below")
            gateway_log = workdir / "gateway.log"
            with gateway_log.open("w") as log:
                gateway = subprocess.Popen(
                    [sys.executable, "-m", "gateway", "run", "--config", str(config)],
                    stderr=log,
                    env=env,
                )
            _say(f"gateway: `wardlink run --config {config}` (log: {gateway_log})")
            try:
                await _wait_for_line(gateway_log, "device lab-scanner is connected", gateway)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", scanner_port, 30)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", analyzer_port, 30)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", monitor_port, 30)
                rng = random.Random(7)
                sims = [
                    asyncio.create_task(
                        connect_and_play(
                            ScannerSim(generated_scans(rng), rate=1.0), "127.0.0.1", scanner_port
                        )
                    ),
                    asyncio.create_task(
                        ScannerSim(itertools.islice(generated_scans(rng), 100_000), rate=0.5).play(
                            pty
                        )
                    ),
                    asyncio.create_task(_analyzer(analyzer_port, random.Random(11))),
                    asyncio.create_task(_monitor(monitor_port)),
                ]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration_s)
                for task in sims:
                    task.cancel()
                for outcome in await asyncio.gather(*sims, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        _say(f"a simulator failed: {outcome!r}")
            finally:
                gateway.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(gateway.wait, 30)
                consumer.send_signal(signal.SIGTERM)
                await asyncio.to_thread(consumer.wait, 30)
    _say(
        f"gateway exited with {code}; store kept in {workdir} (`wardlink outbox stats "
        f"--store {workdir / 'outbox.db'}`)"
    )
    return code


def main() -> None:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")
    parser.add_argument("--broker", choices=["auto", "mosquitto", "embedded"], default="auto")
    parser.add_argument("--workdir", type=Path, default=Path("demo-data"))
    parser.add_argument("--fresh", action="store_true", help="start with an empty store")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.workdir, ignore_errors=True)
    sys.exit(
        asyncio.run(run_ward(args.workdir, broker_choice=args.broker, duration_s=args.duration))
    )


if __name__ == "__main__":
    main()
