"""Rate policies thin numerics as configured; alarms never pass through them."""

from __future__ import annotations

from adapters.canonical.codes import CodedValue, Observation, ReportedValue, ValueKind
from adapters.canonical.events import VitalSigns
from adapters.monitors.rate import RatePolicy

SPO2 = "150456"
HR = "147842"


def vitals(bed: str, **values: float) -> VitalSigns:
    codes = {"spo2": SPO2, "hr": HR}
    return VitalSigns(
        bed=bed,
        observations=[
            Observation(
                local_code=CodedValue(code=codes[name], system="MDC"),
                code=CodedValue(code=codes[name], system="MDC"),
                value=value,
            )
            for name, value in values.items()
        ],
    )


def test_every_forwards_everything() -> None:
    policy = RatePolicy()
    sample = vitals("b1", spo2=97, hr=80)
    assert [policy.apply(sample, t) for t in range(3)] == [sample] * 3


def test_interval_keeps_one_snapshot_per_bed_per_interval() -> None:
    policy = RatePolicy(mode="interval", interval_s=60)
    sent = [t for t in range(0, 180) if policy.apply(vitals("b1", hr=80), t) is not None]
    assert sent == [0, 60, 120]
    # Another bed has its own clock.
    assert policy.apply(vitals("b2", hr=70), 1) is not None


def test_change_forwards_only_what_moved_beyond_its_deadband() -> None:
    policy = RatePolicy(mode="change", deadbands={SPO2: 2, "*": 5}, max_silence_s=1000)
    first = policy.apply(vitals("b1", spo2=97, hr=80), 0)
    assert first is not None
    assert len(first.observations) == 2
    assert policy.apply(vitals("b1", spo2=96, hr=83), 1) is None  # within both bands
    moved = policy.apply(vitals("b1", spo2=94, hr=84), 2)  # SpO2 fell 3 > 2; HR +4 <= 5
    assert moved is not None
    assert [(o.local_code.code, o.value) for o in moved.observations] == [(SPO2, 94)]


def test_change_still_charts_a_flat_line_after_max_silence() -> None:
    policy = RatePolicy(mode="change", deadbands={"*": 5}, max_silence_s=300)
    forwarded = [t for t in range(0, 901, 1) if policy.apply(vitals("b1", hr=80), t)]
    assert forwarded == [0, 300, 600, 900]


def spo2(channel: str, value: float) -> Observation:
    code = CodedValue(code=SPO2, system="MDC")
    return Observation(local_code=code, code=code, value=value, sub_id=channel)


def test_change_follows_each_channel_on_its_own() -> None:
    """Two SpO2 probes (OBX-4 1.3.1 and 1.3.2) share a code; one is not the other's baseline."""
    policy = RatePolicy(mode="change", deadbands={SPO2: 2}, max_silence_s=1000)
    first = VitalSigns(bed="b1", observations=[spo2("1.3.1", 97), spo2("1.3.2", 90)])
    assert policy.apply(first, 0) == first
    again = VitalSigns(bed="b1", observations=[spo2("1.3.1", 97), spo2("1.3.2", 90)])
    assert policy.apply(again, 1) is None  # neither channel moved


def posture(text: str) -> VitalSigns:
    coded = CodedValue(code=text, system="SCT")
    return VitalSigns(
        bed="b1",
        observations=[
            Observation(
                local_code=CodedValue(code="8361-8", system="LN"),
                value=text,
                reported=ReportedValue(text=f"{text}^^SCT", kind=ValueKind.CODED, coded=coded),
            )
        ],
    )


def test_change_forwards_a_coded_value_when_it_changes_or_after_max_silence() -> None:
    policy = RatePolicy(mode="change", max_silence_s=300)
    sent = [
        (t, text)
        for t in range(0, 700)
        for text in ["33586001" if t < 100 else "102538003"]
        if policy.apply(posture(text), t) is not None
    ]
    assert sent == [(0, "33586001"), (100, "102538003"), (400, "102538003")]
