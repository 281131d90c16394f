"""``wardlink consume --pretty``: the lines an operator reads, through the consumer's own path."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from adapters.canonical.codes import CodedValue, Observation
from adapters.canonical.events import Alarm, AlarmPriority, AlarmState, CanonicalEvent, VitalSigns
from adapters.monitors.mdc import METRICS
from gateway.central.consume import ConsumeOptions, Consumer
from gateway.central.output import JsonLinesOutput
from gateway.central.pretty import PrettyLines
from gateway.envelope import Envelope, UlidFactory, utc_now

SPO2, HR, NIBP_SYS = "150456", "147842", "150021"
TOPIC = "wardlink/site/ward/gw/vitals/bed"


def _envelope(device: str, seq: int, payload: CanonicalEvent) -> bytes:
    return Envelope(
        id=UlidFactory().new(),
        site="site",
        ward="ward",
        gateway_id="gw",
        device_id=device,
        device_kind="hl7-monitor",
        seq=seq,
        received_at=utc_now(),
        payload=payload,
    ).to_json_bytes()


def _vitals(values: dict[str, float], display: dict[str, str] | None = None) -> VitalSigns:
    names = display or {code: METRICS[code].display for code in values}
    return VitalSigns(
        observations=[
            Observation(
                local_code=CodedValue(code=code, system="MDC"),
                code=CodedValue(code=code, system="MDC", display=names[code]),
                value=value,
                unit=METRICS[code].unit,
            )
            for code, value in values.items()
        ]
    )


def _printed(tmp_path: Path, envelopes: list[bytes]) -> list[str]:
    """What ``wardlink consume --pretty`` prints for these envelopes, in order."""
    out_file = tmp_path / "out.txt"
    out = JsonLinesOutput(out_file)
    consumer = Consumer(ConsumeOptions(host="127.0.0.1", port=1883, pretty=True), out)
    for envelope in envelopes:
        consumer.handle(TOPIC, envelope, None)
    out.close()
    assert consumer.tally.invalid == 0
    return out_file.read_text(encoding="utf-8").splitlines()


def test_vital_signs_show_names_beside_mdc_codes(tmp_path: Path) -> None:
    vitals = _vitals({SPO2: 97.2, HR: 81.0, NIBP_SYS: 118.0})
    (line,) = _printed(tmp_path, [_envelope("bed-07-monitor", 1, vitals)])
    assert line.endswith(
        " vital_signs         SpO2 150456=97.2 %, Heart rate (ECG) 147842=81.0 /min, "
        "NIBP systolic 150021=118.0 mm[Hg]"
    )


def _kind_column(line: str) -> int:
    return line.index(" vital_signs ") if " vital_signs " in line else line.index(" alarm ")


def test_the_demo_device_ids_line_up_from_the_first_line(tmp_path: Path) -> None:
    devices = ["lab-scanner", "bed-12-intellivue", "biochemistry-analyzer", "hematology-analyzer"]
    alarm = Alarm(priority=AlarmPriority.HIGH, state=AlarmState.START, text="SpO2 LOW")
    envelopes = [_envelope(d, n, _vitals({SPO2: 97.0})) for n, d in enumerate(devices, 1)]
    lines = _printed(tmp_path, [*envelopes, _envelope("bed-07-monitor", 12345, alarm)])
    assert len({_kind_column(line) for line in lines}) == 1, "\n".join(lines)
    assert lines[-1].endswith(" alarm               high start SpO2 LOW")


DEVICE_IDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=80
).filter(lambda text: text not in (".", ".."))


@given(devices=st.lists(DEVICE_IDS, min_size=1, max_size=8))
def test_once_a_long_id_is_seen_every_later_line_lines_up(devices: list[str]) -> None:
    # The consumer's renderer itself: a consumer per example would compile the schema each time.
    pretty = PrettyLines()
    envelopes = [_envelope(d, n, _vitals({HR: 70.0})) for n, d in enumerate(devices * 2, 1)]
    lines = [pretty.line(json.loads(envelope)) for envelope in envelopes]
    later = lines[len(devices) :]
    assert len({_kind_column(line) for line in later}) == 1
    assert [line.split()[1] for line in later] == devices


def test_a_hostile_display_name_cannot_forge_a_line_or_drive_the_terminal(
    tmp_path: Path,
) -> None:
    forged = "SpO2\n12:00:00.000 bed-99 #1 alarm high start ASYSTOLE\x1b[2J"
    vitals = _vitals({SPO2: 97.0}, display={SPO2: forged})
    (line,) = _printed(tmp_path, [_envelope("bed-07-monitor", 1, vitals)])
    assert line.isprintable()
    assert "SpO2?12:00:00.000 bed-99 #1 alarm high start ASYSTOLE?[2J 150456=97.0 %" in line
