"""make demo: a simulated ward — broker, gateway, device simulators and the central consumer.

Uses the machine's Mosquitto when there is one, otherwise an embedded amqtt broker (MQTT 3.1.1
only, which also shows the gateway's fallback). Every device kind with a simulator joins the
ward: two barcode scanners (TCP and a pty), an HL7 haematology analyzer, an ASTM biochemistry
analyzer on a pty (RS-232), bed 7's HL7 bedside monitor (PCD-01/PCD-04 over MLLP) and bed 12's
Philips IntelliVue, which the gateway polls over Data Export on a pty (MIB/RS232). Both monitors
dip their SpO2 once, raising an alarm. The consumer prints one line per coded event as it
arrives and answers the ASTM analyzer's host queries from a small order file. Ctrl-C (or
``--duration``) stops everything cleanly and prints the consumer's tally. The commands it prints
run as printed: ``wardlink`` is named by its path in the venv, which is not on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.hardware_sim.broker import (
    Mosquitto,
    embedded_broker,
    find_mosquitto,
    free_port,
    wait_for_port,
)
from tests.hardware_sim.cli_name import prog
from tests.hardware_sim.pty_pair import PtyPair
from tests.hardware_sim.scanner import ScannerSim, connect_and_play, generated_scans
from tests.hardware_sim.ward_devices import (
    ORDERS,
    astm_analyzer,
    hl7_analyzer,
    intellivue_monitor,
    monitor,
    say,
)

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
id = "biochemistry-analyzer"
kind = "astm-analyzer"
connection = "serial://{astm_pty}?baudrate=9600"
dialect = "auto"
[devices.options]
code_map = "{code_map}"

[[devices]]
id = "bed-07-monitor"
kind = "hl7-monitor"
connection = "listen://127.0.0.1:{monitor_port}"

[[devices]]
id = "bed-12-intellivue"
kind = "intellivue-monitor"
connection = "serial://{intellivue_pty}?baudrate=115200"
[devices.options]
poll_interval_s = 1.0
# Numerics of every other poll, bed 7's pace (alarms are never thinned).
forward = "interval"
interval_s = 1.5
"""


def _wardlink() -> list[str]:
    """The ``wardlink`` command beside this interpreter, as a user can type it from here."""
    script = Path(sys.executable).parent / "wardlink"
    if not script.exists():  # run from a tree without `pip install -e`
        return [sys.executable, "-m", "gateway"]
    with contextlib.suppress(ValueError):
        return [str(script.relative_to(Path.cwd()))]
    return [str(script)]


CODE_MAP = Path(__file__).resolve().parents[2] / "adapters/lis_analyzers/codemaps/example.csv"


@contextlib.asynccontextmanager
async def _broker(choice: str, workdir: Path) -> AsyncIterator[tuple[str, str]]:
    """Yield (broker URL, MQTT version for the consumer)."""
    if choice != "embedded" and find_mosquitto():
        with Mosquitto(workdir / "mosquitto", persistence=True) as broker:
            say(f"broker: Mosquitto on {broker.url}")
            yield broker.url, "5"
        return
    if choice == "mosquitto":
        msg = "--broker mosquitto: mosquitto is not installed"
        raise SystemExit(msg)
    async with embedded_broker() as url:
        say(f"broker: embedded amqtt on {url} (no Mosquitto here; MQTT 3.1.1)")
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


async def _note_uplink(log: Path, gateway: subprocess.Popen[bytes], up: asyncio.Event) -> None:
    """Set ``up`` once the gateway is on the broker (on amqtt: once MQTT 5 has timed out)."""
    await _wait_for_line(log, "connected to broker", gateway, timeout_s=60)
    up.set()


async def run_ward(workdir: Path, *, broker_choice: str, duration_s: float | None) -> int:
    workdir = workdir.resolve()  # device paths in the config must be absolute
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with _broker(broker_choice, workdir) as (broker_url, mqtt_version):
        with (
            PtyPair(workdir) as pty,
            PtyPair(workdir, "usb-WardLink_Chem-if00") as astm_pty,
            PtyPair(workdir, "usb-WardLink_MIB-if00") as intellivue_pty,
        ):
            scanner_port, analyzer_port, monitor_port = free_port(), free_port(), free_port()
            http_port = free_port()
            config = workdir / "wardlink.toml"
            config.write_text(
                CONFIG.format(
                    broker=broker_url,
                    store=workdir / "outbox.db",
                    http_port=http_port,
                    scanner_port=scanner_port,
                    pty=pty.path,
                    astm_pty=astm_pty.path,
                    intellivue_pty=intellivue_pty.path,
                    analyzer_port=analyzer_port,
                    monitor_port=monitor_port,
                    code_map=CODE_MAP,
                )
            )
            orders = workdir / "orders.csv"
            orders.write_text(ORDERS, encoding="utf-8")
            wardlink = _wardlink()
            consume = [
                *wardlink,
                "consume",
                "--broker",
                broker_url,
                "--pretty",
                "--mqtt",
                mqtt_version,
                "--clean",
                "--client-id",
                "demo-centre",
                "--orders",
                str(orders),
            ]
            consumer = subprocess.Popen(consume, env=env)
            say(f"consumer: {shlex.join(consume)}")
            say("  coded events appear below, one line each")
            gateway_log = workdir / "gateway.log"
            run = [*wardlink, "run", "--config", str(config)]
            with gateway_log.open("w") as log:
                gateway = subprocess.Popen(run, stderr=log, env=env)
            say(f"gateway: {shlex.join(run)}  (log: {gateway_log})")
            # The IntelliVue only answers the gateway's polls; it outlives the gateway so that the
            # gateway's Release Request on shutdown is answered, as a real monitor's would be.
            intellivue = asyncio.create_task(intellivue_monitor(intellivue_pty))
            try:
                for device in ("lab-scanner", "biochemistry-analyzer", "bed-12-intellivue"):
                    await _wait_for_line(gateway_log, f"device {device} is connected", gateway)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", scanner_port, 30)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", analyzer_port, 30)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", monitor_port, 30)
                await asyncio.to_thread(wait_for_port, "127.0.0.1", http_port, 30)
                say(f"metrics: http://127.0.0.1:{http_port}/metrics")
                broker = urlsplit(broker_url)
                say(
                    f"raw envelopes: mosquitto_sub -h {broker.hostname} -p {broker.port} "
                    "-t 'wardlink/#' -v"
                )
                rng = random.Random(7)
                uplink = asyncio.Event()
                sims = [
                    asyncio.create_task(_note_uplink(gateway_log, gateway, uplink)),
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
                    asyncio.create_task(hl7_analyzer(analyzer_port, random.Random(11))),
                    asyncio.create_task(astm_analyzer("biochemistry-analyzer", astm_pty, uplink)),
                    asyncio.create_task(monitor(monitor_port)),
                ]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration_s)
                for task in sims:
                    task.cancel()
                for outcome in await asyncio.gather(*sims, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        say(f"a simulator failed: {outcome!r}")
            finally:
                gateway.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(gateway.wait, 30)
                intellivue.cancel()
                for outcome in await asyncio.gather(intellivue, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        say(f"a simulator failed: {outcome!r}")
                consumer.send_signal(signal.SIGTERM)
                await asyncio.to_thread(consumer.wait, 30)
    stats = [*_wardlink(), "outbox", "stats", "--store", str(workdir / "outbox.db")]
    say(f"gateway exited with {code}; store kept in {workdir}: {shlex.join(stats)}")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(prog=prog("make demo"), description=__doc__.splitlines()[0])
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
