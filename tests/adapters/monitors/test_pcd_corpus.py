"""Every monitor sample, shared and synthetic: the events it carries, read by hand from the file."""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters.canonical.codes import CodedValue, PatientRef, ResultStatus
from adapters.canonical.events import Alarm, AlarmPriority, AlarmState, VitalSigns
from adapters.monitors.pcd import monitor_events_from_hl7
from tests.adapters.monitors.corpus import LOCAL_MONITOR_FILES, SHARED_MONITOR_FILES, load

INV = ["INVALID"]
# (local code, local system, mapped MDC code or None, value, UCUM unit, flags, observed_at)
Row = tuple[str, str, str | None, float | None, str | None, list[str], str | None]


def vitals(name: str) -> list[VitalSigns]:
    events = monitor_events_from_hl7(load(name))
    assert all(isinstance(e, VitalSigns) for e in events)
    return [e for e in events if isinstance(e, VitalSigns)]


def alarms(name: str) -> list[Alarm]:
    events = monitor_events_from_hl7(load(name))
    assert all(isinstance(e, Alarm) for e in events)
    return [e for e in events if isinstance(e, Alarm)]


def rows(event: VitalSigns) -> list[Row]:
    return [
        (
            o.local_code.code,
            o.local_code.system,
            o.code.code if o.code else None,
            o.value if isinstance(o.value, float) or o.value is None else -1.0,
            o.unit,
            o.flags,
            o.observed_at.isoformat() if o.observed_at else None,
        )
        for o in event.observations
    ]


def mdc(code: str, value: float | None, unit: str, at: str, flags: list[str] | None = None) -> Row:
    return (code, "MDC", code, value, unit, flags or [], at)


def test_mindray_vs900_seven_numerics_no_patient_no_bed() -> None:
    [event] = vitals("hl7_oru_r01_pcd01_mindray_vs900_vitals.hl7")
    now, nibp = "2019-12-06T11:34:52+07:00", "2019-12-06T11:10:16+07:00"
    assert rows(event) == [
        mdc("150456", 99.0, "%", now),
        mdc("149530", 94.0, "/min", now),
        mdc("150488", 0.94, "%", now),
        mdc("150301", 147.0, "mm[Hg]", nibp),  # APERIODIC: its own, older time
        mdc("150303", 109.0, "mm[Hg]", nibp),
        mdc("150302", 90.0, "mm[Hg]", nibp),
        mdc("188496", 35.1, "Cel", "2019-12-06T11:34:15+07:00"),
    ]
    assert (event.patient, event.bed) == (None, None)
    assert event.measured_at == datetime.fromisoformat(now)  # no offset anywhere: site zone
    assert {o.status for o in event.observations} == {ResultStatus.PRELIMINARY}
    assert event.observations[0].local_code == CodedValue(
        code="150456", system="MDC", display="MDC_PULS_OXIM_SAT_O2"
    )
    assert event.observations[0].code == CodedValue(code="150456", system="MDC", display="SpO2")


def test_mindray_egateway_private_codes_unmapped_bed_from_pv1() -> None:
    [event] = vitals("hl7_oru_r01_pcd01_mindray_egateway_private_99MNDRY_codes.hl7")
    at = "2026-09-12T12:00:00+05:30"
    private = [("108", 0.0), ("352", 0.0), ("579", 0.0), ("580", 0.0), ("581", 0.0)]
    assert rows(event) == [
        mdc("150456", 98.0, "%", at),
        mdc("149530", 65.0, "/min", at),
        mdc("150488", 1.76, "%", at),
        mdc("151658", 19.0, "/min", at),
        mdc("151578", 17.0, "/min", at),
        mdc("148066", 1.0, "/min", at),
        *[(code, "99MNDRY", None, value, "/min", [], at) for code, value in private],
        mdc("148216", 0.0, "1", at),
        mdc("147842", 66.0, "/min", at),
    ]
    assert [o.unmapped for o in event.observations].count(True) == 5
    assert event.bed == "ICU/5"  # facility and the MAC in PV1-3.9 are not the bed
    assert event.patient is None  # the name is in PID-4 (alternate id), not PID-5
    assert event.measured_at == datetime.fromisoformat(at)


def test_continua_bp_cuff_values_timed_by_their_group_row() -> None:
    [event] = vitals("hl7_oru_r01_pcd01_continua_bp_cuff_canonical_example.hl7")
    at = "2009-08-13T09:57:15+00:00"  # OBX-14 of the NONINV group row 1.0.1
    assert rows(event) == [
        mdc("150021", 120.0, "mm[Hg]", at),
        mdc("150022", 80.0, "mm[Hg]", at),
        mdc("150023", 100.0, "mm[Hg]", at),
    ]  # time sync (CWE), device rows and the DTM clock row are not vitals
    assert event.patient == PatientRef(id="1", name="Doe Joseph John", sex="male")
    assert event.bed is None
    assert event.measured_at == datetime.fromisoformat(at)  # OBR-7, not MSH-7


def test_xh80x_sentinels_kept_and_flagged_in_message_order() -> None:
    [event] = vitals("hl7_oru_r01_mindray_xh80x_sentinel_values_no_patient.hl7")
    at = "2021-06-11T10:20:47+07:00"
    assert rows(event) == [
        mdc("150301", -999.0, "mm[Hg]", at, INV),
        mdc("150456", -999.0, "%", at, INV),
        mdc("147842", -999.0, "/min", at, INV),
        mdc("150344", -99.9, "Cel", at, INV),
    ]
    assert {o.status for o in event.observations} == {ResultStatus.UNKNOWN}
    assert (event.patient, event.bed) == (None, None)


def test_ge_mural_advisory_alert() -> None:
    [alarm] = alarms("hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7")
    assert alarm.priority is AlarmPriority.MEDIUM
    assert alarm.state is AlarmState.CONTINUE  # GE phase "update", state "active"
    assert alarm.text == "HYPERTENSION-Alert Recheck BP"
    assert alarm.source is None  # an advisory: no metric alarmed (68164 names the system)
    assert (alarm.value, alarm.limit, alarm.unit) == (None, None, None)
    assert alarm.patient == PatientRef(id="PID-12345", name="Robert Julie")
    assert alarm.bed == "ICU/B1/B1"
    assert alarm.raised_at == datetime.fromisoformat("2021-01-20T08:23:26.275+00:00")


@pytest.mark.parametrize(
    "name", ["hl7_oru_w01_mindray_xh80x_waveform_header.hl7", "oru_w01_waveform_na.hl7"]
)
def test_waveforms_are_recognised_and_skipped(name: str) -> None:
    message = load(name)
    assert message.message_type[:2] == ("ORU", "W01")
    assert monitor_events_from_hl7(message) == []


def test_synthetic_mindray_style_metrics_only() -> None:
    [event] = vitals("oru_r01_mindray_style_vn_patient_bed_sentinels.hl7")
    at, nibp = "2025-03-01T08:30:00+07:00", "2025-03-01T08:15:00+07:00"
    assert rows(event) == [
        mdc("147842", 72.0, "/min", at),
        mdc("150456", -999.0, "%", at, INV),
        mdc("150301", 118.0, "mm[Hg]", nibp),
        mdc("150344", -99.9, "Cel", at, INV),
        ("108", "99MNDRY", None, 0.0, "/min", [], at),
        mdc("151562", 18.0, "/min", at),  # empty OBX-6: the metric's default unit
    ]  # skipped: MDS row, 5th-level facet, MSET setting, NA waveform
    assert event.bed == "ICU/Bed3"
    assert event.patient == PatientRef(
        id="BN-000123", name="TRẦN VĂN BÌNH", birth_date="1970-01-01", sex="male"
    )


def test_synthetic_central_two_beds() -> None:
    first, second = vitals("oru_r01_central_two_beds_group_time_comen_paths.hl7")
    assert rows(first) == [
        mdc("150021", 131.0, "mm[Hg]", "2025-03-01T01:58:00+00:00"),
        mdc("150022", 84.0, "mm[Hg]", "2025-03-01T01:58:00+00:00"),
    ]
    assert (first.bed, first.patient and first.patient.id) == ("10", "PT-0001")
    at = "2025-03-01T01:59:30+00:00"
    assert rows(second) == [
        mdc("150456", 97.0, "%", at),
        mdc("150456", 95.0, "%", at),  # second sensor (1.3.2): both kept
        mdc("149522", 88.0, "/min", at),  # "bpm"
        mdc("147842", None, "/min", at, INV),  # empty value, OBX-11 X
        mdc("151708", 38.0, "mm[Hg]", at),  # UCUM in OBX-6.4-6
        mdc("150344", 8388607.0, "Cel", at, INV),  # 11073 FLOAT NaN
    ]
    assert second.observations[3].status is ResultStatus.CANCELLED
    assert (second.bed, second.patient and second.patient.name) == ("CCU/R2/B4", "PHẠM MINH AN")


def test_synthetic_ihe_alarms() -> None:
    low, high, lead_off = alarms("oru_r40_ihe_style_physiological_technical_heartbeat.hl7")
    assert (low.priority, low.state, low.text) == (AlarmPriority.HIGH, AlarmState.START, "SpO2 LOW")
    assert low.source == CodedValue(code="150456", system="MDC", display="SpO2")
    assert (low.value, low.limit, low.unit) == (86.0, 90.0, "%")
    assert (high.priority, high.state) == (AlarmPriority.MEDIUM, AlarmState.END)
    assert high.text == "ABP systolic high 152 > 140"
    assert (high.value, high.limit, high.unit) == (152.0, 140.0, "mm[Hg]")
    assert lead_off.priority is AlarmPriority.HIGH  # none sent: never quieter than it may be
    assert (lead_off.state, lead_off.text, lead_off.source) == (
        AlarmState.CONTINUE,
        "ECG_LEAD_OFF",
        None,
    )
    assert {a.bed for a in (low, high, lead_off)} == {"ICU/Bed7"}
    assert low.raised_at == datetime.fromisoformat("2025-03-01T08:59:58+07:00")


def test_synthetic_ge_style_advisory() -> None:
    [alarm] = alarms("oru_r40_ge_mural_style_advisory.hl7")
    assert (alarm.priority, alarm.state) == (AlarmPriority.LOW, AlarmState.START)
    assert alarm.text == "SPO2 TREND-Alert Recheck Probe"  # acknowledged: still started
    assert (alarm.bed, alarm.source) == ("ICU/B2/B2", None)


@pytest.mark.parametrize("name", SHARED_MONITOR_FILES + LOCAL_MONITOR_FILES)
def test_every_sample_maps_to_events_of_its_message_type(name: str) -> None:
    message = load(name)
    kinds = {"R01": {"vital_signs"}, "R40": {"alarm"}, "W01": set()}[message.message_type[1]]
    assert {event.kind for event in monitor_events_from_hl7(message)} <= kinds
