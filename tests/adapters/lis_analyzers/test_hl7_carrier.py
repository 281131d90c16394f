"""HL7 lab results carry where the specimen stood: SAC-10 carrier and SAC-11 position (IHE LAW)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.dialect import load_hl7_dialect, match_hl7_dialect, msh_fields
from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from tests.adapters.lis_analyzers.corpus import load


def results(message: Message) -> list[LabResult | QcResult]:
    dialect = load_hl7_dialect(match_hl7_dialect(msh_fields(message.msh)))
    return lab_results_from_hl7(message, CodeMap.empty(), "x", dialect=dialect)


def test_alinity_m_carrier_and_position() -> None:
    """Shared corpus (skipped if absent): ``SAC|||VL00000101|||||||A000001|7``."""
    [result] = results(load("hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7"))
    assert (result.rack, result.position) == ("A000001", "7")


def test_a_control_keeps_its_carrier() -> None:
    """Shared corpus: the cobas pure control's SAC-10 ``704966``; SAC-11 is empty."""
    found = results(load("hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7"))
    assert found
    assert all(isinstance(r, QcResult) for r in found)
    assert {(r.rack, r.position) for r in found} == {("704966", None)}


def test_synthetic_law_patient_specimen_carrier() -> None:
    patient, *_ = results(load("oul_r22_law_patient_and_control_specimens.hl7"))
    assert isinstance(patient, LabResult)
    assert (patient.rack, patient.position) == ("1001", "3")


def message_with_sac(sac10: str, sac11: str) -> Message:
    return parse_message(
        "\r".join(
            [
                "MSH|^~\\&|AN|LAB|||20260402101530+0700||OUL^R22^OUL_R22|1|P|2.5.1",
                "SPM|1|S1||BLD|||||||P",
                f"SAC|||S1|||||||{sac10}|{sac11}",
                "OBR|1|||GLU",
                "OBX|1|NM|GLU^Glucose^L||5.4|mmol/L|||||F",
            ]
        ).encode()
    )


def test_a_row_column_position_stays_joined_and_null_is_none() -> None:
    [result] = results(message_with_sac("R12", "2^3"))
    assert (result.rack, result.position) == ("R12", "2^3")
    [result] = results(message_with_sac('""', '""'))
    assert (result.rack, result.position) == (None, None)


@given(st.text(alphabet='AZ09 ^&~\\"é', max_size=20), st.text(alphabet='09 ^&~\\"', max_size=20))
def test_any_sac_text_gives_a_trimmed_carrier_or_none(sac10: str, sac11: str) -> None:
    [result] = results(message_with_sac(sac10, sac11))
    for text in (result.rack, result.position):
        assert text is None or (text.strip() == text and text and not text.startswith("^"))
    assert LabResult.model_validate_json(result.model_dump_json()) == result
