"""The codec against the corpus: every host request byte for byte, the real Connect Indication."""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.agent_pdus import encode_poll_result, encode_remote_error
from adapters.monitors.intellivue.association import (
    Abort,
    AssociationAccepted,
    AssociationRefused,
    PollProfile,
    ReleaseRequest,
    ReleaseResult,
    UserInfo,
    decode_association,
    encode_abort,
    encode_association_refused,
    encode_association_request,
    encode_association_result,
    encode_release_request,
    encode_release_result,
)
from adapters.monitors.intellivue.attributes import (
    AlarmEntry,
    Attribute,
    NumericValue,
    alarms_of,
    encode_alarm_list,
    encode_compound,
    encode_numeric,
    numerics_of,
)
from adapters.monitors.intellivue.connect import decode_connect_indication
from adapters.monitors.intellivue.floats import decode_float, encode_float
from adapters.monitors.intellivue.framing import FrameDecoder, FrameError, encode_frame, fcs16
from adapters.monitors.intellivue.pdu import (
    ContextPoll,
    EventReportResult,
    ManagedObject,
    MdsCreateReport,
    ObservationPoll,
    PollRequest,
    PollResult,
    RemoteError,
    decode_data_export,
    encode_mds_create_result,
    encode_poll_request,
)
from adapters.monitors.intellivue.wire import PduError
from tests.adapters.monitors.intellivue.corpus import connect_indication, request_blocks


def test_association_request_is_the_corpus_aarq() -> None:
    assert encode_association_request() == request_blocks()["aarq_msg"]


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("rlrq_msg", encode_release_request),
        ("rlrq_resp_msg", encode_release_result),
        ("assoc_abort_resp_msg", encode_abort),
    ],
)
def test_release_and_abort_are_the_corpus_pdus(name, encoded) -> None:
    assert encoded() == request_blocks()[name]


@pytest.mark.parametrize(
    ("name", "poll"),
    [
        ("poll_mds_request_msg", PollRequest(0, 1, nom.NOM_MOC_VMS_MDS)),
        ("poll_request_msg", PollRequest(0, 1, nom.NOM_MOC_VMO_METRIC_NU)),
        ("ext_poll_request_msg", PollRequest(1, 1, nom.NOM_MOC_VMO_METRIC_NU, extended=True)),
        ("keep_alive_msg", PollRequest(1, 1, nom.NOM_MOC_VMS_MDS, nom.NOM_ATTR_GRP_SYS_PROD)),
    ],
)
def test_poll_requests_are_the_corpus_pdus(name, poll) -> None:
    data = request_blocks()[name]
    assert encode_poll_request(poll) == data
    assert decode_data_export(data) == poll


def test_mds_create_result_is_the_corpus_pdu() -> None:
    data = request_blocks()["mds_create_resp_msg"]
    report = MdsCreateReport(1, 0x000ABD00, ManagedObject(), ())
    assert encode_mds_create_result(report) == data
    assert decode_data_export(data) == EventReportResult(
        1, ManagedObject(), 0x000ABD00, nom.NOM_NOTI_MDS_CREAT
    )


def test_extended_poll_asks_a_period() -> None:
    data = encode_poll_request(PollRequest(3, 3, 6, extended=True), period_s=1.0)
    request = decode_data_export(data)
    assert isinstance(request, PollRequest)
    assert request.attributes == (Attribute(nom.NOM_ATTR_TIME_PD_POLL, bytes.fromhex("00001f40")),)


def test_the_real_connect_indication() -> None:
    indication = decode_connect_indication(connect_indication())
    assert indication.bed_label == "ECC MON RM15"
    assert (indication.manufacturer, indication.model) == ("Philips", "M8007A")
    assert indication.serial == "DE22713007"
    assert indication.software == "G.01.78"
    assert indication.ip_address == "10.13.37.2"
    assert indication.data_export_port == nom.DATA_EXPORT_PORT


def test_association_results() -> None:
    info = UserInfo(system_type=nom.SYST_SERVER, poll_profile=PollProfile(min_poll_period=8000))
    accepted = decode_association(encode_association_result(info))
    assert accepted == AssociationAccepted(info)
    assert isinstance(accepted, AssociationAccepted)
    assert accepted.user_info is not None
    assert accepted.user_info.poll_profile is not None
    assert accepted.user_info.poll_profile.min_poll_period_s == 1.0
    assert decode_association(encode_association_refused()) == AssociationRefused()
    assert decode_association(encode_release_request()) == ReleaseRequest()
    assert decode_association(encode_release_result()) == ReleaseResult()
    assert decode_association(encode_abort()) == Abort()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0xFF00000F, 1.5),  # PROTOCOLS §9.7
        (0x00000060, 96.0),
        (0xFE000E49, 36.57),
        (0x00FFFFFF, -1.0),
        (0x007FFFFF, None),  # NaN
        (0x00800000, None),  # NRes
        (0x007FFFFE, None),  # +INF
        (0x00800002, None),  # -INF
        (0x057FFFFF, None),  # NaN with any exponent
    ],
)
def test_float_type(raw, value) -> None:
    assert decode_float(raw) == value
    if value is not None:
        assert decode_float(encode_float(value)) == value


def test_fcs_is_ppp_fcs16() -> None:
    # RFC 1662 C.2: the reflected CCITT CRC; its check value over "123456789" is 0x906E (X.25).
    assert fcs16(b"123456789") ^ 0xFFFF == 0x906E
    frame = encode_frame(b"\xe1\x00\x00\x02")
    assert frame[0] == 0xC0
    assert frame[-1] == 0xC1


def test_framing_stuffs_the_reserved_bytes() -> None:
    pdu = bytes([0xC0, 0xC1, 0x7D, 0x00])
    frame = encode_frame(pdu, with_header=False)
    assert bytes([0xC0, 0xC1]) not in frame[1:-1]
    assert frame[1:7] == bytes([0x7D, 0xE0, 0x7D, 0xE1, 0x7D, 0x5D])
    assert [f.pdu for f in FrameDecoder().receive_data(frame)] == [pdu]  # type: ignore[union-attr]


def test_frame_errors_are_declared() -> None:
    good = encode_frame(b"\xe1\x00abc")
    broken = bytearray(good)
    broken[5] ^= 0x01
    items = FrameDecoder().receive_data(b"noise" + bytes(broken) + good[:4] + good)
    reasons = [i.reason for i in items if isinstance(i, FrameError)]
    assert reasons == ["bytes outside a frame", "bad FCS", "frame cut by a new BOF"]
    assert items[-1].pdu == b"\xe1\x00abc"  # type: ignore[union-attr]


def _numeric_poll(linked=None, contexts=None) -> PollResult:
    spo2 = NumericValue(0x4BB8, 0, 0x0220, 97.0)
    nibp = [NumericValue(0x4A05, 0, 0x0F20, 120), NumericValue(0x4A06, 0, 0x0F20, 80)]
    observations = (
        ObservationPoll(
            1,
            (
                Attribute(nom.NOM_ATTR_NU_VAL_OBS, encode_numeric(spo2)),
                Attribute(nom.NOM_ATTR_ID_LABEL, bytes.fromhex("0002 4BB8")),
            ),
        ),
        ObservationPoll(2, (Attribute(nom.NOM_ATTR_NU_CMPD_VAL_OBS, encode_compound(nibp)),)),
    )
    return PollResult(
        7,
        7,
        nom.NOM_MOC_VMO_METRIC_NU,
        contexts or (ContextPoll(0, observations),),
        extended=True,
        sequence_no=2,
        relative_time=12345,
        linked=linked,
    )


@pytest.mark.parametrize("linked", [None, (nom.RORLS_FIRST, 1), (nom.RORLS_LAST, 3)])
def test_poll_result_round_trip(linked) -> None:
    result = _numeric_poll(linked)
    decoded = decode_data_export(encode_poll_result(result))
    assert decoded == result
    assert isinstance(decoded, PollResult)
    values = [n for o in decoded.observations for n in numerics_of(o.attributes)]
    assert [(n.physio_id, n.value) for n in values] == [
        (0x4BB8, 97.0),
        (0x4A05, 120.0),
        (0x4A06, 80.0),
    ]


def test_single_poll_result_keeps_its_absolute_time() -> None:
    at = datetime(2026, 9, 12, 8, 30, 15)  # the monitor's clock has no zone
    result = PollResult(2, 1, 6, absolute_time=at)
    assert decode_data_export(encode_poll_result(result)) == result


def test_alarm_lists_round_trip() -> None:
    entries = [
        AlarmEntry(0x4BB8, nom.NOM_EVT_LO, nom.HI_PRI_P_AL, 0, 6, 12, 1, 0, "**SpO2 88 < 90"),
        AlarmEntry(0x4182, nom.NOM_EVT_HI, nom.MED_PRI_P_AL, 0, 6, 13, 2, 5),
    ]
    technical = [AlarmEntry(0x4BB8, 0x0108, nom.MED_PRI_T_AL, 0, 6, 12, 3, 0, "SpO2 LEADS OFF")]
    attributes = (
        Attribute(nom.NOM_ATTR_AL_MON_P_AL_LIST, encode_alarm_list(entries)),
        Attribute(nom.NOM_ATTR_AL_MON_T_AL_LIST, encode_alarm_list(technical)),
    )
    assert alarms_of(attributes) == [
        *entries,
        AlarmEntry(0x4BB8, 0x0108, nom.MED_PRI_T_AL, 0, 6, 12, 3, 0, "SpO2 LEADS OFF", True),
    ]


def test_remote_error() -> None:
    assert decode_data_export(encode_remote_error(4, 9)) == RemoteError(4, 9)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xe1", b"\xe1\x00\x00\x02\x00\x02\x00\x40", b"\x0e\x30", b"\x42\x00"],
)
def test_truncated_pdus_are_declared_errors(data) -> None:
    decode = decode_association if data[:1] == b"\x0e" else decode_data_export
    with pytest.raises(PduError):
        decode(data)
