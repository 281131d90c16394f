"""Session events to canonical events: the same shape as the HL7 (PCD-01/04) path."""

from __future__ import annotations

import random
from datetime import datetime

from adapters.canonical.codes import CodedValue
from adapters.canonical.events import AlarmPriority, AlarmState
from adapters.hl7.parse import parse_message
from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import AlarmEntry
from adapters.monitors.intellivue.events import alarms_from_changes, vitals_from_numerics
from adapters.monitors.intellivue.session_events import (
    AlarmChange,
    Alarms,
    NumericReading,
    Numerics,
)
from adapters.monitors.pcd import vitals_from_pcd01
from tests.hardware_sim.monitor import SimulatedBed

AT = datetime(2026, 9, 12, 8, 30, 0)  # the monitor's clock: no zone


def _vitals(*readings: NumericReading):
    return vitals_from_numerics(Numerics("ICU BED 7", AT, list(readings)))


def test_numerics_carry_mdc_codes_ucum_units_and_the_bed() -> None:
    vitals = _vitals(
        NumericReading(0x4BB8, 0x00024BB8, 96.0, 0x0220, 0),
        NumericReading(0x4182, None, 72.0, 0x0AA0, 0),
        NumericReading(0x4A05, None, 120.0, 0x0F20, 0),
        NumericReading(0x4B48, None, 36.8, 0x17A0, 0),
        NumericReading(0x500A, None, 16.0, 0x0AE0, 0),
    )
    assert vitals.bed == "ICU BED 7"
    assert vitals.measured_at is not None
    assert vitals.measured_at.isoformat() == "2026-09-12T08:30:00+07:00"
    assert [(o.code.code, o.unit, o.value) for o in vitals.observations if o.code] == [
        ("150456", "%", 96.0),
        ("147842", "/min", 72.0),
        ("150021", "mm[Hg]", 120.0),
        ("150344", "Cel", 36.8),
        ("151562", "/min", 16.0),
    ]
    spo2 = vitals.observations[0]
    assert spo2.local_code == CodedValue(
        code="0x4BB8", system="philips-intellivue", display="NOM_PULS_OXIM_SAT_O2"
    )
    assert not spo2.flags
    assert not spo2.unmapped


def test_same_shape_as_the_hl7_path() -> None:
    bed = SimulatedBed("Bed07", "PT-0007", "PHẠM^MINH^ĐỨC", random.Random(1))
    bed.step()
    hl7 = vitals_from_pcd01(parse_message(bed.vitals()))[0]
    readings = [
        NumericReading(int(o.code.code) - (2 << 16), None, o.value, unit, 0)
        for o, unit in zip(hl7.observations, (0x0AA0, 0x0220, 0x0AE0, 0x17A0), strict=True)
        if o.code and isinstance(o.value, float)
    ]
    ours = _vitals(*readings)
    assert [(o.code, o.unit, o.value) for o in ours.observations] == [
        (o.code, o.unit, o.value) for o in hl7.observations
    ]


def test_values_that_are_not_patient_data_are_kept_and_flagged() -> None:
    vitals = _vitals(
        NumericReading(0x4BB8, None, None, 0x0220, 0),  # NaN
        NumericReading(0x4182, None, 60.0, 0x0AA0, nom.INVALID),
        NumericReading(0x4182, None, 60.0, 0x0AA0, nom.DEMO_DATA),
        NumericReading(0x4182, None, 60.0, 0x0AA0, nom.QUESTIONABLE | nom.MSMT_STATE_IN_ALARM),
        NumericReading(0xF0E5, None, 61.0, 0x0AA0, 0),  # a Philips-private code
        NumericReading(0x4444, None, 1.0, 0x7777, 0),  # a code and unit we do not know
    )
    flags = [o.flags for o in vitals.observations]
    assert flags == [["INVALID"], ["INVALID"], ["INVALID"], ["QUESTIONABLE", "A"], [], []]
    private, unknown = vitals.observations[4:]
    assert private.code is None
    assert private.unmapped
    assert unknown.code is not None
    assert unknown.code.code == str((2 << 16) + 0x4444)
    assert unknown.unit is None


def test_alarms_start_and_end() -> None:
    low = AlarmEntry(0x4BB8, nom.NOM_EVT_LO, nom.HI_PRI_P_AL, 0, 6, 12, 1, 0, "**SpO2 85 < 90")
    inop = AlarmEntry(0x1234, 0x0109, nom.MED_PRI_T_AL, 0, 6, 1, 2, 0, "", technical=True)
    alarms = alarms_from_changes(
        Alarms("ICU BED 7", AT, [AlarmChange(low, "start"), AlarmChange(inop, "end")])
    )
    assert [(a.priority, a.state, a.text) for a in alarms] == [
        (AlarmPriority.HIGH, AlarmState.START, "**SpO2 85 < 90"),
        (AlarmPriority.MEDIUM, AlarmState.END, "device alert 0x0109"),
    ]
    assert alarms[0].source == CodedValue(code="150456", system="MDC", display="SpO2")
    assert alarms[1].source is None  # object-partition source (alert code LSB 1)
    assert {a.bed for a in alarms} == {"ICU BED 7"}
