"""Issue 14, acceptance 3: SIGHUP reloads the TOML, restarting only the devices that changed.

A real ``wardlink run`` process serves HL7 analyzers on ``listen://`` ports; the analyzers run
in the test and count their TCP connections, so "kept its connection" means the analyzer's one
connection was never closed. Reload changes one device, removes one and adds one: only those
are touched. A broken file then changes nothing, the process keeps running, and its log says why.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from tests.e2e.harness import PYTHON, _env, async_wait_for, write_config
from tests.e2e.test_device_supervisor import devices_toml, feeding, listen_port, refuses_connections
from tests.hardware_sim.broker import Mosquitto

A, B, C, D = "analyzer-a", "analyzer-b", "analyzer-c", "analyzer-d"


def start_gateway(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [PYTHON, "-m", "gateway", "run", "--config", str(config)], env=_env(), stderr=log_file
        )


async def stop_gateway(gateway: subprocess.Popen[bytes], log_path: Path) -> None:
    gateway.send_signal(signal.SIGTERM)
    await asyncio.to_thread(gateway.wait, 60)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert gateway.returncode == 0, log
    assert "gateway stopped cleanly" in log


async def test_sighup_restarts_only_the_devices_that_changed(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    ports = {device: listen_port() for device in (A, B, C, D)}
    config = write_config(
        tmp_path, mosquitto.url, devices=devices_toml({d: ports[d] for d in (A, B, C)})
    )
    original = config.read_text(encoding="utf-8")
    log_path = tmp_path / "gateway.log"
    gateway = start_gateway(config, log_path)

    def log_text() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    try:
        async with feeding(ports) as analyzers:
            await async_wait_for(
                lambda: all(analyzers[d].acked >= 5 for d in (A, B, C)), 60, "A, B, C delivering"
            )
            assert analyzers[D].acked == 0  # not configured yet: refused

            # B changes (its encoding), C is removed, D is added, and the store moves.
            changed = original.replace(
                f'connection = "listen://127.0.0.1:{ports[B]}"\n',
                f'connection = "listen://127.0.0.1:{ports[B]}"\nencoding = "latin-1"\n',
            ).replace(devices_toml({C: ports[C]}), devices_toml({D: ports[D]}))
            changed = changed.replace("outbox.db", "elsewhere.db")
            config.write_text(changed, encoding="utf-8")
            acked_a = analyzers[A].acked
            gateway.send_signal(signal.SIGHUP)

            await async_wait_for(
                lambda: analyzers[B].connections == 2 and analyzers[D].acked >= 5,
                60,
                "B reconnected after its restart and D delivering",
            )
            await async_wait_for(lambda: refuses_connections(ports[C]), 20, "C's port closed")
            await async_wait_for(lambda: analyzers[A].acked >= acked_a + 20, 60, "A delivering")
            assert "reloaded: restarted: analyzer-b; started: analyzer-d; stopped: analyzer-c" in (
                log_text()
            )
            assert "changed but needing a restart: store" in log_text()
            # A's one connection was never closed.
            assert (analyzers[A].connections, analyzers[A].dropped) == (1, 0)
            assert analyzers[B].dropped == 1
    finally:
        await stop_gateway(gateway, log_path)


async def test_sighup_with_a_broken_file_changes_nothing_and_logs_why(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    ports = {A: listen_port(), B: listen_port()}
    config = write_config(tmp_path, mosquitto.url, devices=devices_toml(ports))
    original = config.read_text(encoding="utf-8")
    log_path = tmp_path / "gateway.log"
    gateway = start_gateway(config, log_path)

    def log_text() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    try:
        async with feeding(ports) as analyzers:
            await async_wait_for(
                lambda: all(analyzers[d].acked >= 5 for d in (A, B)), 60, "A and B delivering"
            )
            # A broken file: nothing changes, the process runs on, and the log says why.
            config.write_text(original.replace('kind = "hl7-analyzer"', 'kind = "hl7-analyser"'))
            connections = {d: analyzers[d].connections for d in (A, B)}
            acked = {d: analyzers[d].acked for d in (A, B)}
            gateway.send_signal(signal.SIGHUP)
            await async_wait_for(
                lambda: "reload refused, nothing changed" in log_text(), 30, "the refusal"
            )
            await async_wait_for(
                lambda: all(analyzers[d].acked >= acked[d] + 20 for d in (A, B)),
                60,
                "A and B delivering after the refused reload",
            )
            assert gateway.poll() is None
            assert {d: analyzers[d].connections for d in (A, B)} == connections
            assert (analyzers[A].dropped, analyzers[B].dropped) == (0, 0)
            assert "devices[0] (id=analyzer-a).kind" in log_text()
            assert "is not a known device kind" in log_text()
    finally:
        await stop_gateway(gateway, log_path)


async def test_wardlink_reload_checks_the_file_then_signals_the_running_gateway(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    ports = {A: listen_port(), B: listen_port()}
    config = write_config(tmp_path, mosquitto.url, devices=devices_toml(ports))
    original = config.read_text(encoding="utf-8")
    log_path = tmp_path / "gateway.log"
    gateway = start_gateway(config, log_path)

    def reload() -> subprocess.CompletedProcess[str]:
        command = [PYTHON, "-m", "gateway", "reload", "--config", str(config)]
        return subprocess.run(command, env=_env(), capture_output=True, text=True, check=False)

    try:
        async with feeding(ports) as analyzers:
            await async_wait_for(
                lambda: all(analyzers[d].acked >= 5 for d in (A, B)), 60, "A and B delivering"
            )
            config.write_text(original.replace('kind = "hl7-analyzer"', 'kind = "nope"', 1))
            refused = await asyncio.to_thread(reload)
            assert refused.returncode == 1
            assert "devices[0] (id=analyzer-a).kind: 'nope' is not a known" in refused.stderr
            assert "not reloaded; the gateway keeps its configuration" in refused.stderr

            config.write_text(
                original.replace(
                    f'connection = "listen://127.0.0.1:{ports[B]}"\n',
                    f'connection = "listen://127.0.0.1:{ports[B]}"\nencoding = "latin-1"\n',
                ),
                encoding="utf-8",
            )
            done = await asyncio.to_thread(reload)
            assert done.returncode == 0, done.stderr
            assert f"asked gateway {gateway.pid} to reload it" in done.stdout
            await async_wait_for(
                lambda: analyzers[B].connections == 2, 30, "B reconnected after its restart"
            )
            assert "reloaded: restarted: analyzer-b" in log_path.read_text()
            assert (analyzers[A].connections, analyzers[A].dropped) == (1, 0)
    finally:
        await stop_gateway(gateway, log_path)
    gone = await asyncio.to_thread(reload)
    assert gone.returncode == 1
    assert "gateway.pid: not found" in gone.stderr
