"""Acceptance: the gateway killed with SIGKILL mid-stream, then restarted, loses nothing acked."""

from __future__ import annotations

import random
import re
import signal
import subprocess
from pathlib import Path

from tests.e2e.harness import PYTHON, ConsumerProcess, _env, wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, wait_for_port

KILLS = 3


def control_port(config: Path) -> int:
    match = re.search(r'listen = "127\.0\.0\.1:(\d+)"', config.read_text())
    assert match is not None
    return int(match[1])


def test_every_committed_event_is_delivered_after_kill9(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    rng = random.Random(20261122)
    config = write_config(tmp_path / "gw", mosquitto.url)
    committed: list[str] = []
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        for _ in range(KILLS):
            kill_after = rng.randint(50, 1500)
            writer = subprocess.Popen(
                [PYTHON, "-m", "tests.e2e.writer_process", str(config), "100000", "20"],
                stdout=subprocess.PIPE,
                env=_env(),
            )
            assert writer.stdout is not None
            for _ in range(kill_after):
                committed.append(writer.stdout.readline().decode().strip())
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            # Complete lines written before the kill were committed too; a cut line was not.
            committed += writer.stdout.read().decode().split("\n")[:-1]
            writer.stdout.close()
        gateway = subprocess.Popen(
            [PYTHON, "-m", "gateway", "run", "--config", str(config)],
            env=_env(),
            stderr=subprocess.PIPE,
        )
        try:
            # Up (its control surface answers) before it may be stopped: the killed writers
            # forward too, and may have delivered everything before this one has even started.
            wait_for_port("127.0.0.1", control_port(config))
            wait_for(lambda: set(committed) <= set(consumer.ids()), 60, "committed ids")
        finally:
            gateway.send_signal(signal.SIGTERM)
            _, err = gateway.communicate(timeout=30)
        summary = consumer.stop()
    assert gateway.returncode == 0, err.decode()[-2000:]
    assert b"gateway stopped cleanly" in err
    lost = set(committed) - set(consumer.ids())
    assert not lost
    assert summary["sequence_gaps"] == {}
    print(
        f"\nkill -9 x{KILLS}: {len(committed)} committed, lost {len(lost)}, "
        f"duplicates at consumer {summary['duplicates']}"
    )
