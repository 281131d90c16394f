from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse

from adapters.hl7.ack import AckError, build_ack, build_reject_for_unparseable
from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message
from tests.adapters.hl7.conftest import fixture_bytes, shared_corpus

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CORPUS = [  # one per version seen: 2.3.1, 2.4, 2.5, 2.5.1, 2.6
    "hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7",
    "hl7_oru_r01_mindray_xh80x_sentinel_values_no_patient.hl7",
    "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7",
    "hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7",
    "hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7",
]


def ack_for(message: Message, code: str) -> Message:
    error = None if code in ("AA", "CA") else AckError(102, "bad value", "OBX[4]-5")
    raw = build_ack(message, code, text="see ERR", error=error, now=NOW, control_id="WL-1")
    # Every corpus version is 2.3.1 or later, where hl7apy knows the ACK structure, so STRICT
    # works; for 2.3 and older MSH-9 has no structure component and hl7apy cannot resolve one.
    hl7apy_parse(raw.decode(message.encoding), validation_level=VALIDATION_LEVEL.STRICT)
    return parse_message(raw)


@pytest.mark.parametrize("name", CORPUS)
@pytest.mark.parametrize("code", ["AA", "AE", "AR", "CA", "CE", "CR"])
def test_ack_validates_and_addresses_the_sender(name: str, code: str) -> None:
    message = parse_message((shared_corpus() / name).read_bytes())
    ack = ack_for(message, code)
    msa = ack.first("MSA")
    assert msa is not None
    assert (msa.text(1), msa.field(2)) == (code, message.msh.field(10))
    assert (ack.msh.field(5), ack.msh.field(6)) == (message.msh.field(3), message.msh.field(4))
    assert ack.message_type[:2] == ("ACK", message.message_type[1])
    assert (ack.control_id, ack.version) == ("WL-1", message.version)
    assert ack.msh.field(18) == message.msh.field(18)
    assert (ack.first("ERR") is None) == (code in ("AA", "CA"))


def test_err_layout_follows_the_version() -> None:
    old = parse_message((shared_corpus() / CORPUS[0]).read_bytes())
    new = parse_message((shared_corpus() / CORPUS[4]).read_bytes())
    old_err, new_err = ack_for(old, "AE").first("ERR"), ack_for(new, "AE").first("ERR")
    assert old_err is not None
    assert old_err.field(1) == "OBX^4^5^102&Data type error&HL70357"
    assert new_err is not None
    assert [new_err.field(n) for n in (2, 3, 4, 8)] == [
        "OBX^4^5",
        "102^Data type error^HL70357",
        "E",
        "bad value",
    ]


def test_mindray_msh16_result_kind_is_echoed_and_ascii_kept() -> None:
    message = parse_message(fixture_bytes("oru_r01_mindray_bs_style_msh16_patient.hl7"))
    ack = ack_for(message, "AA")
    assert (ack.msh.field(16), ack.msh.field(18), ack.encoding) == ("0", "ASCII", "ascii")


def test_vietnamese_text_goes_back_in_the_message_charset() -> None:
    message = parse_message(fixture_bytes("oru_r01_vn_name_utf8.hl7"))
    raw = build_ack(message, "AE", text="Sai mã xét nghiệm", now=NOW, control_id="1")
    assert "MSA|AE|VN-UTF8-1|Sai mã xét nghiệm".encode() in raw


def test_reject_for_unparseable_salvages_the_header() -> None:
    raw = b"\x00\xffMSH|^~\\&|DEV|FAC|||x||ORU^R01|ID\xe9-9|P|2.4|||||BOGUS\rPID|\xff"
    ack = parse_message(
        build_reject_for_unparseable(raw, "unknown charset", error_code=103, control_id="1"),
        default_encoding="latin-1",
    )
    msa = ack.first("MSA")
    assert msa is not None
    assert (msa.text(1), msa.text(2)) == ("AR", "IDé-9")
    assert (ack.msh.field(5), ack.msh.field(6), ack.version) == ("DEV", "FAC", "2.4")


def test_reject_for_garbage_uses_defaults() -> None:
    raw = build_reject_for_unparseable(b"\x01\x02", "garbage", control_id="7", now=NOW)
    ack = parse_message(raw)
    assert ack.first("MSA") is not None
    assert ack.version == "2.5.1"
    hl7apy_parse(raw.decode(), validation_level=VALIDATION_LEVEL.STRICT)


def test_unknown_code_is_a_programming_error() -> None:
    message = parse_message(fixture_bytes("oru_r01_vn_name_utf8.hl7"))
    with pytest.raises(ValueError, match="acknowledgement code"):
        build_ack(message, "OK", control_id="1")
