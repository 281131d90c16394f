"""QC is never a patient result: every corpus QC message, our fixtures, and any SPM/O-12 content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.astm.dialect import RoleRule, load_dialect, match_dialect
from adapters.astm.records import parse_transmission
from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.dialect import (
    SPECIMEN_ROLES,
    Hl7Dialect,
    load_hl7_dialect,
    match_hl7_dialect,
    msh_fields,
)
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from tests.hardware_sim import astm_transcripts, hl7_sender

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL_HL7 = REPO / "tests" / "corpus" / "lab"
LOCAL_ASTM = REPO / "tests" / "corpus" / "astm" / "records"

Result = LabResult | QcResult


def hl7_results(path: Path) -> list[Result]:
    """As the gateway reads the file with ``dialect = "auto"``."""
    out: list[Result] = []
    for raw in hl7_sender.messages_in_file(path):
        message = parse_message(raw)
        dialect = load_hl7_dialect(match_hl7_dialect(msh_fields(message.msh)))
        out += lab_results_from_hl7(message, CodeMap.empty(), "x", dialect=dialect)
    return out


def astm_results(path: Path) -> list[Result]:
    out: list[Result] = []
    for records in astm_transcripts.messages_in_file(path):
        for message in parse_transmission(records):
            name = match_dialect(message.header.record.fields) or "generic"
            out += lab_results_from_astm(message, CodeMap.empty(), name, load_dialect(name))
    return out


def read(path: Path) -> list[Result]:
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED.resolve()})")
    is_hl7 = path.suffix == ".hl7" or path.name.startswith("hl7_")
    return hl7_results(path) if is_hl7 else astm_results(path)


# Every corpus file holding a control: (patient results, then per QC result: role, control,
# level, evidence). Patient results come first in each file that mixes both.
QcRow = tuple[str, str | None, str | None, list[str]]
COBAS_PURE: QcRow = (
    "control",
    "PCCC1",
    None,
    ["SPM-2.1.2=CONTROL", "SAC-3.2=CONTROL", "SPM-11=Q", "INV-3=CO"],
)
QC_FILES: dict[Path, tuple[int, list[QcRow]]] = {
    SHARED / "hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7": (
        0,
        [COBAS_PURE, COBAS_PURE],
    ),
    SHARED / "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7": (
        0,
        [("control", "NEG-CTRL-01", None, ["SPM-11=Q", "INV-3=CO"])],
    ),
    SHARED / "hl7_mindray_bs200e_qc_msh16_query_qrd_and_qck_reply_mllp.bin": (
        0,
        [("control", "QUAL1", "H", ["MSH-16=2"])],
    ),
    SHARED / "astm_horiba_yumizen_h550_qc_histograms_doubled_backslash_lf.astm": (
        0,
        [("control", "PX449L", "CTRLLOW", ["H-12=Q", "O-16=CTRL"])],
    ),
    SHARED / "astm_roche_hitachi_h7600_qc_multirecord_frames_etb_midfield.bin": (
        0,
        [("control", "PCCC2", None, ["O-4.5=QC", "O-12=Q"])],
    ),
    LOCAL_HL7 / "oul_r22_law_patient_and_control_specimens.hl7": (
        2,
        [("control", None, None, ["SPM-11=Q"])],
    ),
    LOCAL_HL7 / "oul_r22_haematology_middleware_qc_in_spm4_only.hl7": (
        0,
        [("control", None, "3", ["SPM-4=QC3"])],
    ),
    LOCAL_ASTM / "horiba_style_qc_doubled_backslash_lf.astm": (
        0,
        [("control", "QC-LOW-01", "CTRLLOW", ["H-12=Q", "O-16=CTRL"])],
    ),
    LOCAL_ASTM / "generic_patient_and_qc_order_o12_q.astm": (
        1,
        [("control", None, None, ["O-12=Q"])],
    ),
    LOCAL_ASTM / "generic_whole_message_qc_h12_q.astm": (
        0,
        [("control", None, None, ["H-12=Q"])],
    ),
}
# Raw signs of a control anywhere in a corpus file; every file showing one must be listed above.
QC_SIGNS = re.compile(rb"\|Q\^|\|Q\||\|QC\d?\^|CONTROL|CTRL|\^QC\^|\|\|\|\|2\|\|")


@pytest.mark.parametrize("path", sorted(QC_FILES), ids=lambda p: p.name)
def test_every_corpus_qc_message_is_a_qc_result_and_never_a_patient_result(path: Path) -> None:
    found = read(path)
    patients, expected = QC_FILES[path]
    assert all(isinstance(r, LabResult) for r in found[:patients])
    qc = found[patients:]
    assert all(isinstance(r, QcResult) for r in qc), "a control was sent as a patient result"
    got = [(r.role, r.control, r.level, r.evidence) for r in qc if isinstance(r, QcResult)]
    assert got == expected
    assert all(not r.ambiguous and r.observations for r in qc if isinstance(r, QcResult))


def test_no_corpus_file_with_a_control_sign_is_left_out() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED.resolve()})")
    files = [*SHARED.iterdir(), *LOCAL_HL7.glob("*.hl7"), *LOCAL_ASTM.glob("*.astm")]
    data = [p for p in files if p.is_file() and p.suffix != ".md"]
    signed = {p for p in data if QC_SIGNS.search(p.read_bytes())}
    assert signed == {p for p in QC_FILES if p.is_file()}


def test_the_mindray_bs_obr_qc_keeps_its_value_unit_lot_and_targets() -> None:
    (qc,) = read(SHARED / "hl7_mindray_bs200e_qc_msh16_query_qrd_and_qck_reply_mllp.bin")
    assert isinstance(qc, QcResult)
    (observation,) = qc.observations
    assert (observation.local_code.code, observation.local_code.display) == ("1", "test1")
    assert (observation.value, observation.unit, qc.lot) == (0.11029, "g/ml", "1111")
    assert (qc.specimen_id, qc.ordered_tests) == (None, [])  # OBR-2 is the test number here
    assert qc.comments == ["mean: 5.000000", "sd: 2.000000", "expiry: 20080720000000"]
    assert qc.analyzer is not None
    assert qc.analyzer.dialect == "mindray-bs"


def test_a_qc_message_that_names_a_person_does_not_carry_the_person() -> None:
    (qc,) = read(LOCAL_ASTM / "generic_whole_message_qc_h12_q.astm")
    assert "patient" not in qc.model_dump()
    assert "Đặng" not in qc.model_dump_json()


# --- any SPM content: the HL7 classification holds for all of it ----------------------------

LEAF = st.text(
    st.characters(blacklist_characters="|^~\\&\r\n", blacklist_categories=["Cs"]), max_size=30
)


def spm_message(spm4: str, spm11: str, *, msh11: str = "P") -> bytes:
    return (
        f"MSH|^~\\&|MW||LIS||20260715083012||OUL^R22|1|{msh11}|2.5.1\r"
        f"PID|1||BN1||Nguyễn^An\r"
        f"SPM|1|S1||{spm4}|||||||{spm11}\r"
        f"OBR|1|||CBC\rOBX|1|NM|6690-2^WBC^LN||7.1|10*9/L\r"
    ).encode()


def classify(raw: bytes, dialect: Hl7Dialect | None = None) -> Result:
    (result,) = lab_results_from_hl7(parse_message(raw), CodeMap.empty(), "x", dialect=dialect)
    return result


QC_TYPES = st.from_regex(r"(QC|CTRL|CONTROL)([-_ ]?[0-9A-Z]{1,8})?", fullmatch=True).map(
    lambda s: "".join(c.lower() if i % 2 else c for i, c in enumerate(s))
)


@given(QC_TYPES, st.sampled_from(["", "P", "p", '""']))
def test_any_qc_specimen_type_is_a_control_whatever_spm11_says(spm4: str, spm11: str) -> None:
    result = classify(spm_message(spm4, spm11))
    assert isinstance(result, QcResult)
    assert result.role == "control"
    assert result.ambiguous == (spm11.upper() == "P")  # an explicit P contradicts SPM-4


@given(st.sampled_from(sorted(set(SPECIMEN_ROLES) - {"P"})), LEAF)
def test_any_non_patient_role_in_spm11_is_never_a_lab_result(code: str, spm4: str) -> None:
    result = classify(spm_message(spm4, code))
    assert isinstance(result, QcResult)
    assert f"SPM-11={code}" in result.evidence


@given(LEAF, LEAF)
@settings(max_examples=300)
def test_a_lab_result_only_when_no_mark_says_otherwise(spm4: str, spm11: str) -> None:
    result = classify(spm_message(spm4, spm11))
    qc_type = re.fullmatch(r"(QC|CTRL|CONTROL)([-_ ]?[0-9A-Z]{1,8})?", spm4.strip(), re.I)
    patient = spm11.strip().upper() in ("", "P", '""') and qc_type is None
    assert isinstance(result, LabResult) == patient
    if isinstance(result, QcResult):  # a code we cannot name is flagged, not guessed
        assert result.ambiguous == (spm11.strip().upper() not in SPECIMEN_ROLES and qc_type is None)


@pytest.mark.parametrize(
    ("spm4", "spm11"),
    [
        ("QC3" * 50_000, ""),  # huge
        ("QC3&sub&sub", "Q&x"),  # subcomponents
        ("\\F\\QC\\S\\", "\\F\\"),  # escapes
        ("QC3", "Q~P~C"),  # repetitions: the first counts
    ],
)
def test_hostile_specimen_fields_do_not_crash_and_stay_on_the_safe_side(
    spm4: str, spm11: str
) -> None:
    result = classify(spm_message(spm4, spm11))
    assert isinstance(result, QcResult) or spm11 == ""


# --- MSH-11: trusted only where the dialect says so -----------------------------------------


def test_msh11_training_is_kept_off_charts_and_flagged_unless_the_dialect_knows() -> None:
    raw = spm_message("SER", "", msh11="T")
    generic = classify(raw)
    assert isinstance(generic, QcResult)
    assert (generic.role, generic.evidence, generic.ambiguous) == ("training", ["MSH-11=T"], True)
    boditech = classify(raw, load_hl7_dialect("boditech"))  # sends T for patients
    assert isinstance(boditech, LabResult)
    trusted = Hl7Dialect(name="t", description="t", processing_id="trusted")
    trusted_result = classify(raw, trusted)
    assert isinstance(trusted_result, QcResult)
    assert not trusted_result.ambiguous


# --- ASTM: O-12 and H-12 -------------------------------------------------------------------


def astm_message(h12: str, o12: str) -> list[bytes]:
    return [
        f"H|\\^&|||ACME^1|||||||{h12}|LIS2-A2".encode(),
        "P|1||BN1||Nguyễn^An".encode(),
        f"O|1|S1||^^^GLU|R||||||{o12}".encode(),
        b"R|1|^^^GLU|5.4|mmol/L||N||F",
        b"L|1|N",
    ]


@given(LEAF, LEAF)
def test_astm_a_lab_result_only_without_a_q_in_h12_or_o12(h12: str, o12: str) -> None:
    (message,) = parse_transmission(astm_message(h12, o12))
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "x", load_dialect("generic"))
    qc = "Q" in (h12.strip().upper(), o12.strip().upper())
    assert isinstance(result, QcResult) == qc
    if isinstance(result, LabResult):
        assert result.patient is not None


def test_an_astm_role_rule_may_be_a_pattern_whose_groups_fill_the_qc_event() -> None:
    rule = RoleRule(record="O", field=3, pattern=r"QC-(?P<level>[LMH])\d*", role="control")
    dialect = load_dialect("generic").model_copy(update={"roles": (rule,)})
    records = astm_message("P", "N")
    records[2] = records[2].replace(b"|S1|", b"|qc-h07|")
    (message,) = parse_transmission(records)
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "x", dialect)
    assert isinstance(result, QcResult)
    assert (result.level, result.evidence, result.specimen_id) == ("h", ["O-3=qc-h07"], "qc-h07")


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither value nor pattern
        {"value": "Q", "pattern": "Q"},  # both
        {"pattern": "(QC"},  # not a regex
    ],
)
def test_a_broken_astm_role_rule_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        RoleRule.model_validate({"record": "O", "field": 12, "role": "control", **fields})
