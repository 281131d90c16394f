"""PCD-04 alarms carry where their source sits (OBX-4) and what measured it (OBX-18), schema 1.1."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.canonical.codes import CodedValue
from adapters.canonical.events import Alarm
from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from tests.adapters.monitors.corpus import load


def alarms(name: str) -> list[Alarm]:
    events = monitor_events_from_hl7(load(name))
    assert all(isinstance(e, Alarm) for e in events)
    return [e for e in events if isinstance(e, Alarm)]


def test_two_spo2_channels_alarms_stay_apart() -> None:
    first, second = alarms("oru_r40_two_spo2_channels_equipment.hl7")
    assert (first.sub_id, second.sub_id) == ("1.3.1.150456.2", "1.3.2.150456.2")
    assert first.source == second.source  # same metric code: only OBX-4 tells them apart
    # OBX-18 of the alarming metric's row; else of the group's MDS row (the monitor)
    assert first.equipment == [CodedValue(code="0011223344556688", system="EUI-64")]
    assert second.equipment == [CodedValue(code="0011223344556699", system="EUI-64")]


def test_ge_mural_advisory_names_its_row_and_the_system() -> None:
    """Shared corpus (skipped if absent): an advisory has no metric, its event row is the source."""
    [alarm] = alarms("hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7")
    assert alarm.sub_id == "1.0.0.0.1"
    assert alarm.equipment == [CodedValue(code="GE_Mural_DH_NM", system="local")]


def test_ihe_alarms_without_obx18_have_no_equipment() -> None:
    low, high, lead_off = alarms("oru_r40_ihe_style_physiological_technical_heartbeat.hl7")
    assert (low.sub_id, high.sub_id, lead_off.sub_id) == (
        "1.3.1.150456.2",
        "1.1.3.150037.2",
        "1.7.0.0.1",  # a technical alert: no metric, its event row
    )
    assert (low.equipment, high.equipment, lead_off.equipment) == (None, None, None)


SUB_ID = st.text(alphabet="0123456789.", max_size=20)
EUI = st.one_of(st.just(""), st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=16))
HOSTILE = st.text(alphabet='0123456789.^&\\~ xé"', max_size=40)


def alarm_of(event_sub: str, source_sub: str, event_ei: str, source_ei: str) -> Alarm:
    raw = "\r".join(
        [
            "MSH|^~\\&|SYN||||20260301101500+0700||ORU^R40^ORU_R40|1|P|2.6",
            "OBR|1|A||196616^MDC_EVT_ALARM^MDC",
            f"OBX|1|ST|196616^MDC_EVT_ALARM^MDC|{event_sub}|LOW|||L||||||||||{event_ei}",
            f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|{source_sub}|86|||||||||||||{source_ei}",
        ]
    ).encode()
    [alarm] = monitor_events_from_hl7(parse_message(raw))
    assert isinstance(alarm, Alarm)
    assert Alarm.model_validate_json(alarm.model_dump_json()) == alarm
    return alarm


@given(SUB_ID, SUB_ID, EUI, EUI)
def test_the_source_row_wins_then_the_event_row(
    event_sub: str, source_sub: str, event_eui: str, source_eui: str
) -> None:
    def ei(eui: str) -> str:
        return f"{eui}^^{eui}^EUI-64" if eui else ""

    alarm = alarm_of(event_sub, source_sub, ei(event_eui), ei(source_eui))
    assert alarm.sub_id == (source_sub or event_sub or None)
    eui = source_eui or event_eui
    assert alarm.equipment == ([CodedValue(code=eui, system="EUI-64")] if eui else None)


@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_hostile_obx4_and_obx18_never_break_an_alarm(a: str, b: str, c: str, d: str) -> None:
    alarm = alarm_of(a, b, c, d)  # delimiters, escapes, ``""``: still one alarm that round-trips
    assert alarm.text == "LOW"
