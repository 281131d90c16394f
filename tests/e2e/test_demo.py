"""Acceptance: `make demo` on a machine without Mosquitto runs on the embedded broker, and the
commands it prints work as printed (issue 14: `wardlink` is not on PATH outside .venv/bin).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import threading
import urllib.request
from pathlib import Path

from tests.e2e.harness import PYTHON, _env

ROOT = Path(__file__).resolve().parents[2]  # where `make demo` runs, and its hints are typed


def _hint(lines: list[str], label: str) -> str:
    """The text after ``[demo] label: `` in what the demo printed so far."""
    return next(line.split(": ", 1)[1] for line in lines if line.startswith(f"[demo] {label}: "))


def _run_hint(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, check=False, capture_output=True, text=True, timeout=60
    )


def _check_live_hints(lines: list[str]) -> None:
    """While the ward runs: the /metrics URL answers, mosquitto_sub shows envelopes, and the
    printed consumer and gateway command lines parse with the program they name.
    """
    with urllib.request.urlopen(_hint(lines, "metrics"), timeout=10) as answer:
        assert answer.status == 200
        assert "wardlink_intake_messages_total" in answer.read().decode()
    subscribe = [*shlex.split(_hint(lines, "raw envelopes")), "-C", "1", "-W", "30"]
    raw = _run_hint(subscribe)
    assert raw.returncode == 0, raw.stderr
    topic, envelope = raw.stdout.split(" ", 1)
    assert topic.startswith("wardlink/demo-hospital/icu-1/gw-demo/")
    assert json.loads(envelope)["gateway_id"] == "gw-demo"
    for label, usage in (("consumer", "wardlink consume"), ("gateway", "wardlink run")):
        command = shlex.split(_hint(lines, label).split("  (log:")[0])
        assert command[0].endswith("/wardlink")  # a path: the venv is not on PATH
        shown = _run_hint([*command, "--help"])
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith(f"usage: {usage} ")


def test_demo_on_embedded_broker_shows_coded_events(tmp_path: Path) -> None:
    # --broker embedded is what `make demo` picks when no mosquitto binary is found.
    with subprocess.Popen(
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
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    ) as demo:
        stdout, stderr = demo.stdout, demo.stderr
        assert stdout is not None
        assert stderr is not None
        printed: list[str] = []
        errors: list[str] = []
        drain = threading.Thread(target=lambda: errors.extend(stderr), daemon=True)
        drain.start()
        for line in stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("[demo] raw envelopes: "):
                break
        try:
            _check_live_hints(printed)
        finally:
            printed += (line.rstrip("\n") for line in stdout)
            demo.wait(timeout=120)
            drain.join(timeout=10)
    result = subprocess.CompletedProcess(
        demo.args, demo.returncode, "\n".join(printed) + "\n", "".join(errors)
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
    # amqtt's own warnings and errors no longer bury the events: stderr holds only the
    # consumer's log lines and its tally.
    assert [
        line
        for line in result.stderr.splitlines()
        if not line.startswith('{"summary"') and " wardlink." not in line
    ] == []
    # The closing hint runs as printed, from where `make demo` ran.
    stats = _run_hint(shlex.split(result.stdout.split("store kept in ")[1].split(": ", 1)[1]))
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["acknowledged"] + json.loads(stats.stdout)["sent"] > 0
