"""Coded PCD-01 rows: the patient's (posture, ventilator mode) are carried, the device's are not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.canonical.codes import CodedValue, ValueKind
from adapters.canonical.events import VitalSigns
from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7
from adapters.monitors.pcd_coded import describes_device
from tests.adapters.monitors.corpus import load

FIXTURE = "oru_r01_coded_posture_vent_mode_device_rows.hl7"
PARTITION = 1 << 16


def test_posture_and_ventilator_mode_are_carried_device_rows_are_not() -> None:
    [event] = monitor_events_from_hl7(load(FIXTURE))
    assert isinstance(event, VitalSigns)
    assert [(o.local_code.code, o.sub_id) for o in event.observations] == [
        ("8361-8", "1.0.0.2"),  # posture
        ("150456", "1.1.1.1"),  # SpO2
        ("184352", "1.2.1.1"),  # ventilator mode; its MSET twin is a setting, not carried
    ]
    posture, _, mode = event.observations
    assert posture.reported is not None
    assert posture.reported.kind is ValueKind.CODED
    assert posture.reported.text == "33586001^Sitting position^SCT"
    assert posture.reported.coded == CodedValue(
        code="33586001", system="SCT", display="Sitting position"
    )
    assert posture.value == "Sitting position"
    assert posture.unmapped
    assert posture.code is None
    assert posture.observed_at is not None
    assert posture.observed_at.isoformat() == ("2026-03-01T10:14:00+07:00")
    assert mode.code == CodedValue(code="184352", system="MDC", display="MDC_VENT_MODE")
    assert mode.reported is not None
    assert mode.reported.coded is not None
    assert mode.reported.coded.code == "VC-SIMV"
    assert mode.method is not None
    assert mode.method.code == "AMEAS"
    assert mode.equipment == [CodedValue(code="0011223344556677", system="EUI-64")]


def test_coded_observations_survive_the_json_of_the_event() -> None:
    [event] = monitor_events_from_hl7(load(FIXTURE))
    assert VitalSigns.model_validate_json(event.model_dump_json()) == event


@given(st.integers(0, 0xFFFF), st.sampled_from([1, 8]))
def test_object_and_infrastructure_partitions_describe_the_device(term: int, part: int) -> None:
    assert describes_device(CodedValue(code=str(part * PARTITION + term), system="MDC"))


@given(st.integers(0, 0xFFFF), st.sampled_from([0, 2, 3, 4, 7, 128]))
def test_other_partitions_are_observations(term: int, part: int) -> None:
    """The metric partitions (SCADA 2, events 3, ...) are the patient's, as are other systems."""
    code = str(part * PARTITION + term)
    assert not describes_device(CodedValue(code=code, system="MDC", display="MDC_VENT_MODE"))
    assert not describes_device(CodedValue(code=str(PARTITION + term), system="99SYN"))


def test_a_private_mdc_code_is_judged_by_its_reference_id() -> None:
    assert describes_device(CodedValue(code="0", system="MDC", display="MDCX_ATTR_DEV_STATUS"))
    assert describes_device(CodedValue(code="x", system="mdc", display="mdc_dev_foo_vmd"))
    assert not describes_device(CodedValue(code="0", system="MDC", display="MDCX_EVT_ALERT"))


ROW_CODES = st.sampled_from(
    [
        "68220^MDC_TIME_SYNC_PROTOCOL^MDC",
        "67974^MDC_ATTR_SYS_TYPE^MDC",
        "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
        "528391^MDC_DEV_SPEC_PROFILE_BP^MDC",
        "0^MDCX_ATTR_DEV_STATUS^MDC",
        "184352^MDC_VENT_MODE^MDC",
        "8361-8^Body position^LN",
        "^^MDC",
        "",
    ]
)
HOSTILE = st.text(alphabet='0123456789.^~&\\|"ABZé ', max_size=40)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CWE", "CNE", "CE", "CF", "cwe"]),
            ROW_CODES,
            st.sampled_from(["", "1", "1.1", "1.0.0.1", "1.2.1.1", "1.2.1.1.1", "...", "0.0.0.1"]),
            st.one_of(st.just("A^posture a^99SYN"), st.just('""'), HOSTILE),
        ),
        max_size=10,
    )
)
def test_no_device_row_is_ever_a_vital(rows: list[tuple[str, str, str, str]]) -> None:
    """Whatever coded rows arrive, hostile values included: no device code becomes a vital."""
    segments = ["MSH|^~\\&|SYN||||20260301101500+0700||ORU^R01^ORU_R01|1|P|2.6", "OBR|1"]
    segments += [f"OBX|{n}|{t}|{c}|{s}|{v}" for n, (t, c, s, v) in enumerate(rows, 1)]
    events = monitor_events_from_hl7(parse_message("\r".join(segments).encode()))
    carried = [o for e in events if isinstance(e, VitalSigns) for o in e.observations]
    assert not any(describes_device(o.local_code) for o in carried)
    for o in carried:
        assert o.reported is not None
        # a repeating value (``A~B``) stays text, as on the lab path
        assert o.reported.kind is ValueKind.CODED or "~" in o.reported.text
        assert o.sub_id is None or len(o.sub_id.strip(".").split(".")) <= 4


def test_a_coded_row_without_a_code_is_judged_by_its_reference_id() -> None:
    raw = "\r".join(
        [
            "MSH|^~\\&|SYN||||20260301101500+0700||ORU^R01^ORU_R01|1|P|2.6",
            "OBR|1",
            "OBX|1|CWE|^MDC_ATTR_SYS_TYPE^MDC|1.0.0.1|X^monitor^99SYN",
            "OBX|2|CWE|^Body position^LN|1.0.0.2|33586001^Sitting position^SCT",
        ]
    )
    [event] = monitor_events_from_hl7(parse_message(raw.encode()))
    assert isinstance(event, VitalSigns)
    [posture] = event.observations  # the attribute row is the device's; the other is carried
    assert (posture.local_code.code, posture.unmapped) == ("", True)
    assert posture.reported is not None
    assert posture.reported.coded is not None
    assert posture.reported.coded.code == "33586001"
