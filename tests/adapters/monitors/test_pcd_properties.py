"""Whatever OBX rows a monitor sends, a parsed ORU never makes the mappers raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.hl7.parse import parse_message
from adapters.monitors.pcd import monitor_events_from_hl7

# Field texts that hit the mappers' branches, mixed with arbitrary text (delimiters included).
meaningful = st.sampled_from(
    [
        "",
        '""',
        "NM",
        "ST",
        "NA",
        "CWE",
        "DTM",
        "X",
        "R",
        "F",
        "-999",
        "-99.9",
        "8388607",
        "1e309",
        "nan",
        "150456^MDC_PULS_OXIM_SAT_O2^MDC",
        "108^MNDRY_ECG_PAUSE_RATE^99MNDRY",
        "196614^MDC_EVT_ACTIVE^MDC",
        "68481^MDC_ATTR_EVENT_PHASE^MDC",
        "68166^MDC_ATTR_ALERT_STATE^MDC",
        "68484^MDC_ATTR_ALARM_PRIORITY^MDC",
        "68546^MDC_ATTR_ALERT_TEXT^MDC",
        "1.3.1.150456",
        "1.0.1",
        "1.3.1.150456.2",
        "...",
        "266016^MDC_DIM_MMHG^MDC",
        "^^^mm[Hg]^^UCUM",
        "90-100",
        "1-2-3",
        "A~PM~SA",
        "H~~PX",
        "start",
        "end",
        "inactive",
        "PH",
        "MSET^manual-setting^MDC",
        "20250301083000.0000+0700",
        "20251399",
        "2025030108+9999",
    ]
)
field = st.one_of(meaningful, st.text(alphabet="0123456789.-+^~&\\ ABCXYZéỆ", max_size=12))
obx = st.lists(field, min_size=0, max_size=20).map(lambda fs: "OBX|" + "|".join(fs))
other = st.lists(field, max_size=8)
message_type = st.sampled_from(["ORU^R01^ORU_R01", "ORU^R40^ORU_R40", "ORU^W01", "ADT^A01"])


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    segments = [f"MSH|^~\\&|MON||||{draw(field)}||{draw(message_type)}|1|P|2.6"]
    for _ in range(draw(st.integers(1, 3))):
        for name in draw(st.lists(st.sampled_from(["PID", "PV1", "OBR"]), max_size=3)):
            segments.append(name + "|" + "|".join(draw(other)))
        segments.extend(draw(st.lists(obx, max_size=8)))
    return "\r".join(segments).encode("utf-8")


@settings(max_examples=200)
@given(messages())
def test_mappers_never_raise(raw: bytes) -> None:
    events = monitor_events_from_hl7(parse_message(raw))
    assert all(event.kind in {"vital_signs", "alarm"} for event in events)
