"""Acceptance: `make demo` on a machine without Mosquitto runs on the embedded broker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.harness import PYTHON, _env


def test_demo_on_embedded_broker_shows_coded_events(tmp_path: Path) -> None:
    # --broker embedded is what `make demo` picks when no mosquitto binary is found.
    result = subprocess.run(
        [
            PYTHON,
            "-m",
            "tests.hardware_sim.ward",
            "--broker",
            "embedded",
            "--duration",
            "20",
            "--workdir",
            str(tmp_path / "demo"),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "embedded amqtt" in result.stdout
    kinds = (" identification ", " lab_result ", " vital_signs ", " alarm ", " order_query ")
    events = [line for line in result.stdout.splitlines() if any(k in line for k in kinds)]
    assert any("reception-scanner" in line for line in events)
    assert any("lab-scanner" in line for line in events)  # the pty-attached scanner
    # The HL7 analyzer's CBC arrives coded with LOINC (the example code map).
    assert any("hematology-analyzer" in line and "718-7=" in line for line in events)
    # The ASTM analyzer on the second pty: E1381 frames in, its chemistry panel out, glucose
    # coded with LOINC 14749-6 by the example code map.
    assert any(
        "biochemistry-analyzer" in line and " lab_result " in line and "14749-6=" in line
        for line in events
    )
    # Its host queries reach the centre, which answers from the demo's order file (over
    # query/ and query-reply/ at QoS 1, on the embedded broker's MQTT 3.1.1 too).
    assert any(
        "biochemistry-analyzer" in line and "order_query" in line and "2611239001" in line
        for line in events
    )
    assert "biochemistry-analyzer asked for orders of 2611239001: got GLU CREA ALT" in (
        result.stdout
    )
    assert "biochemistry-analyzer asked for orders of 2611239999: no information" in result.stdout
    # The monitor's numerics arrive MDC-coded; its scripted desaturation raises an alarm.
    assert any("bed-07-monitor" in line and "150456=" in line for line in events)
    assert any(
        "bed-07-monitor" in line and " alarm " in line and "SpO2 LOW" in line for line in events
    )
    # Bed 12's IntelliVue, polled over Data Export on the third pty (MIB/RS232 framing): its
    # numerics arrive MDC-coded too, and its own scripted desaturation raises an alarm.
    assert any(
        "bed-12-intellivue" in line
        and " vital_signs " in line
        and "150456=" in line
        and "147842=" in line
        for line in events
    )
    assert any(
        "bed-12-intellivue" in line and " alarm " in line and "SpO2 LOW" in line for line in events
    )
    summary = next(
        json.loads(line)["summary"]
        for line in result.stderr.splitlines()
        if line.startswith('{"summary"')
    )
    assert summary["unique"] == len(events)
    assert summary["invalid"] == 0
    log = (tmp_path / "demo" / "gateway.log").read_text()
    assert "falling back to MQTT 3.1.1" in log
    assert "gateway stopped cleanly" in log
