from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hl7.errors import Hl7ParseError
from adapters.hl7.parse import parse_message
from tests.adapters.hl7.conftest import fixture_bytes

NAME = ("NGUYỄN", "THỊ", "ÁNH")


def test_vietnamese_utf8_name_is_intact_and_byte_exact() -> None:
    raw = fixture_bytes("oru_r01_vn_name_utf8.hl7")
    message = parse_message(raw, default_encoding="cp1258")
    pid = message.first("PID")
    assert pid is not None
    assert tuple(pid.component(5, c) for c in (1, 2, 3)) == NAME
    assert message.encoding == "utf-8"
    assert "\r".join("|".join(s.fields) for s in message.segments[1:]).encode() in raw


def test_cp1258_device_default_decodes_to_nfc() -> None:
    raw = fixture_bytes("oru_r01_vn_name_cp1258_no_msh18.hl7")
    message = parse_message(raw, default_encoding="cp1258")
    pid = message.first("PID")
    assert pid is not None
    assert tuple(pid.component(5, c) for c in (1, 2, 3)) == NAME


def test_cp1258_bytes_claiming_utf8_are_refused_readably() -> None:
    raw = fixture_bytes("oru_r01_vn_name_cp1258_mislabelled_utf8.hl7")
    with pytest.raises(Hl7ParseError, match="not valid utf-8") as caught:
        parse_message(raw, default_encoding="cp1258")
    assert (caught.value.ack_code, caught.value.error_code) == ("AE", 102)
    assert parse_message(raw, default_encoding="cp1258", trust_msh18=False).control_id


def test_tolerates_junk_lf_blank_lines_and_escapes() -> None:
    message = parse_message(fixture_bytes("oru_r01_escapes_lf_leading_u2028.hl7"))
    assert [s.name for s in message.segments] == ["MSH", "PID", "OBR", "OBX", "OBX"]
    pid, obx = message.first("PID"), message.first("OBX")
    assert pid is not None
    assert obx is not None
    assert (pid.component(5, 1), pid.component(5, 2)) == ("O^BRIEN", "ANN&MARIE")
    assert obx.text(5) == "a|b\ncHi \\Zunknown\\ lone\\"
    assert obx.field(8) == '""'


def test_mindray_bs_style_ascii_v231() -> None:
    message = parse_message(fixture_bytes("oru_r01_mindray_bs_style_msh16_patient.hl7"))
    assert message.message_type == ("ORU", "R01", "")
    assert (message.encoding, message.version, message.msh.text(16)) == ("ascii", "2.3.1", "0")


@pytest.mark.parametrize(
    ("raw", "ack_code", "error_code", "location"),
    [
        (b"hello", "AR", 100, None),
        (b"MSH|^^\\&|||||||ORU^R01|1|P|2.5\r", "AR", 102, "MSH-2"),
        (b"MSHA^~\\&", "AR", 102, "MSH-2"),
        (b"MSH|^~\\&|||||||ORU^R01|1|P|2.5||||||TCVN3\r", "AR", 103, "MSH-18"),
        (b"MSH|^~\\&|||||||ORU^R01|1|P|2.5||||||ASCII\rPID|||\xc3\x81\r", "AE", 102, None),
        (b"MSH|^~\\&||||||||1|P|2.5\r", "AR", 101, "MSH-9"),
        (b"MSH|^~\\&|||||||ORU^R01||P|2.5\r", "AR", 101, "MSH-10"),
    ],
)
def test_refusals_carry_their_ack(
    raw: bytes, ack_code: str, error_code: int, location: str | None
) -> None:
    with pytest.raises(Hl7ParseError) as caught:
        parse_message(raw)
    error = caught.value
    assert (error.ack_code, error.error_code, error.location) == (ack_code, error_code, location)


def test_short_encoding_characters_take_defaults() -> None:
    message = parse_message(b"MSH|^~|||||||ORU^R01|1|P|2.5\rNTE|1||a&b\\T\\c")
    assert message.delimiters.escape == "\\"
    nte = message.first("NTE")
    assert nte is not None
    assert nte.component(3, 1, sub=2) == "b&c"


header = st.sampled_from([b"", b"MSH|^~\\&|||||||ORU^R01|1|P|2.5||||||UNICODE UTF-8\r", b"MSH|"])


@given(header, st.binary(max_size=300))
def test_any_bytes_parse_or_raise_hl7_parse_error(prefix: bytes, tail: bytes) -> None:
    for encoding in ("utf-8", "cp1258"):
        with contextlib.suppress(Hl7ParseError):
            parse_message(prefix + tail, default_encoding=encoding)
