"""ASTM results to LabResult: every result-bearing corpus file, read by hand, and our fixtures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.astm.dialect import load_dialect, match_dialect
from adapters.astm.records import AstmMessage, parse_transmission
from adapters.canonical.codes import CodedValue, DeviceIdentity, PatientRef, ResultStatus
from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeEntry, CodeMap, load_code_map
from adapters.lis_analyzers.astm_results import lab_results_from_astm

F, P, C, X, U = (
    ResultStatus.FINAL,
    ResultStatus.PRELIMINARY,
    ResultStatus.CORRECTED,
    ResultStatus.CANCELLED,
    ResultStatus.UNKNOWN,
)
ICT = timezone(timedelta(hours=7))
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus" / "astm" / "records"
EXAMPLE_MAP = REPO / "adapters" / "lis_analyzers" / "codemaps" / "example.csv"

Row = tuple[str, str | float | None, str | None, tuple[str, ...], ResultStatus]
"""(local code, value, UCUM unit, flags, status) of one observation."""
Spec = tuple[str | None, ResultStatus, tuple[Row, ...]]
"""(specimen id, LabResult status, observations) of one LabResult."""


def rows(unit: str | None, status: ResultStatus, *items: tuple[str, float | str]) -> list[Row]:
    return [(code, value, unit, (), status) for code, value in items]


def triplet(code: str, value: float, unit: str, text: str | None, rlu: float) -> tuple[Row, ...]:
    interpretation = [(f"{code} [I]", text, None, (), F)] if text else []
    return ((code, value, unit, (), F), *interpretation, (f"{code} [P]", rlu, "RLU", (), F))


HORIBA_QC = tuple(
    (code, value, unit, ("N",), F)
    for code, value, unit in [
        ("MCV", 78.4, "fL"),
        ("NEU#", 1.39, "10*3/uL"),
        ("NEU%", 43.4, "%"),
        ("RDW-CV", 15.9, "%"),
        ("RBC", 2.35, "10*6/uL"),
        ("MPV", 8.5, "fL"),
        ("MON#", 0.17, "10*3/uL"),
        ("PLT", 67.0, "10*3/uL"),
        ("WBC", 3.22, "10*3/uL"),
        ("MON%", 5.2, "%"),
        ("LYM#", 1.33, "10*3/uL"),
        ("HGB", 6.0, "g/dL"),
        ("LYM%", 41.2, "%"),
        ("BAS%", 1.8, "%"),
        ("BAS#", 0.06, "10*3/uL"),
        ("MCH", 25.6, "pg"),
        ("MCHC", 32.6, "g/dL"),
        ("HCT", 18.4, "%"),
        ("EOS#", 0.27, "10*3/uL"),
        ("EOS%", 8.4, "%"),
    ]
)
GRADES = ["0^0^0", "0^0^0", "3+^3+^45", "3+^3+^45", "3+^3+^29", "3+^3+^40", "2+^2+^17", "0^0^0"]
GALILEO_ABO = (
    *(
        (code, grade, None, (), F)
        for code, grade in zip(
            ["Rh Ctrl", "Anti-A", "Anti-B", "Anti-AB", "Anti-D1", "Anti-D2", "A1 Cells", "B Cells"],
            GRADES,
            strict=True,
        )
    ),
    ("ABOD Full Interp", "B Pos", None, (), F),
)
GALILEO_SCREEN = (
    ("Screen 1", "4+^4+^100", None, (), F),
    ("Screen 2", "4+^4+^99", None, (), F),
    ("Screen 3", "4+^4+^100", None, (), F),
    ("Pos Ctrl", "4+^4+^100", None, (), F),
    ("Screen Interp", "Pos", None, (), F),
)
BIORAD = (
    ("AntiA", 40.0, "C", (), F),
    ("AntiB", 0.0, "C", (), F),
    ("AntiD", 0.0, "C", (), F),
    ("Result", "A^NEG^NEG^ccee^K-^NEG", "C", (), U),
)

# Every shared file that carries R records; files not listed must yield no LabResult.
SHARED_RESULTS: dict[str, list[Spec]] = {
    "astm_abbott_architect_c_chemistry_exp_high_flags.astm": [
        (
            "1012515377",
            F,
            (
                ("1101", 140.0, "mmol/L", ("EXP",), F),
                ("1103", 109.0, "mmol/L", ("EXP", "H"), F),
            ),
        )
    ],
    "astm_abbott_architect_i_serology_F_I_P_triplets_5_messages.astm": [
        ("276056250158121", F, triplet("580", 0.15, "S/CO", "Nonreactive", 1277)),
        ("70225954624I", F, triplet("531", 0.0, "AU/mL", "Nonreactive", 326)),
        ("AA5XVA2BT9", F, triplet("580", 0.17, "S/CO", "Nonreactive", 1519)),
        ("AA5XVA2BT9", F, triplet("133", 2.87, "m[IU]/mL", None, 3685)),
        ("CL5X1A30VH", F, triplet("281", 0.11, "S/CO", "Nonreactive", 1006)),
    ],
    "astm_abbott_m2000_viral_load_F_I_pair.astm": [
        (
            "VL01250129",
            F,
            (
                ("HIV0.6ml", "Not detected", "{copies}/mL", (), F),
                ("HIV0.6ml [I]", "Target not detected", None, (), F),
            ),
        )
    ],
    "astm_beckman_access_dxi_record_examples.astm": [
        ("101", F, (("TSH", 0.18, "u[IU]/mL", ("N",), F),))
    ],
    "astm_biorad_ihcom_v52_bloodtype_results_lf.astm": [("1122206642", P, BIORAD)],
    "astm_cepheid_genexpert_at_sign_repeat_delimiter.astm": [
        ("VL0001", F, (("HIV-1_VL 2 2", 1234.56, "{copies}/mL", ("A",), F),))
    ],
    "astm_horiba_yumizen_h550_cbc_loinc_in_test_id_flags.astm": [
        (
            "70424906396",
            F,
            (
                ("MCV", 56.1, "fL", ("L",), P),
                ("NEU#", 0.0, "10*3/uL", ("LL",), P),
                ("NEU%", 12.5, "%", ("L",), P),
                ("RDW-CV", 23.0, "%", ("H",), F),
            ),
        )
    ],
    "astm_horiba_yumizen_h550_qc_histograms_doubled_backslash_lf.astm": [("PX449L", F, HORIBA_QC)],
    "astm_immucor_galileo_echo_bloodbank_results_lf.astm": [
        ("0651439A", F, GALILEO_ABO),
        ("0651439A", F, GALILEO_SCREEN),
    ],
    "astm_mindray_bs800_record_examples.astm": [
        ("SAMPLE123", F, (("001", 2.549481, "mmol/L", ("N",), F),))
    ],
    "astm_mindray_cl1000i_manual_record_examples.astm": [
        ("SAMPLE123", F, (("1", 10000.0, "U/mL", ("N",), F),))
    ],
    "astm_ortho_vision_abo_rh_short.astm": [
        ("SID305", F, (("ABO", "B", None, (), F), ("Rh", "POS", None, (), F)))
    ],
    "astm_ortho_vision_bloodbank_results_with_M_records.astm": [
        ("SID101", F, (("ABO", "A", None, ("T",), F), ("Rh", "NEG", None, ("T",), F)))
    ],
    "astm_phadia_immunocap_lis2_results.astm": [
        ("B7650020", F, (("t2", 9.34, "kUA/l", (), F),)),
        ("B7650020", F, (("t3", "Examine", "kUA/l", (), F),)),
        ("B7650020", F, (("a-IgE", 199.0, "kU/l", (), F),)),
    ],
    "astm_roche_amplilink_taqman_viral_load.astm": [
        ("TM-0001/26", F, (("HI2CAP96", "Target Not Detected", None, ("N",), F),))
    ],
    "astm_sysmex_xn_cbc_results.astm": [
        (
            "ABCDE1234567890",
            F,
            (
                ("WBC", 7.8, "10*3/uL", ("N",), U),
                ("RBC", 10.0, "10*6/uL", ("A",), U),
                ("PLT_C(S)?", 200.0, None, ("A",), U),
            ),
        )
    ],
}
LOCAL_RESULTS: dict[str, list[Spec]] = {
    "mindray_bc_style_cbc_vn_patient.astm": [
        (
            "2603020011",
            F,
            (
                ("08003", "CBC+DIFF", None, (), F),
                ("6690-2", 9.81, "10*9/L", ("N",), F),
                ("718-7", 65.0, "g/L", ("L",), F),
                ("777-3", 212.0, "10*9/L", ("N",), F),
                ("10002", 1.4, "mL/L", ("N",), F),
            ),
        )
    ],
    "sysmex_xn_style_cbc_vn_patient.astm": [
        (
            "SP260001",
            F,
            (
                ("WBC", 11.2, "10*3/uL", ("H",), U),
                ("HGB", 128.0, "g/L", (), U),
                ("PLT", "----", "10*3/uL", ("W",), U),
            ),
        )
    ],
    "erba_style_backtick_two_patients.astm": [
        (
            "ER0001",
            F,
            (("GLU", 5.6, "mmol/L", ("N",), F), ("CREA", "<20", "umol/L", ("L",), F)),
        ),
        ("ER0002", C, (("ALT", 41.0, "U/L", ("H",), C),)),
    ],
    "architect_style_triplet_and_cancelled.astm": [
        ("AR0001", F, triplet("580", 1.02, "S/CO", "Reactive", 8123)),
        ("AR0002", X, ()),
        ("AR0003", F, (("1101", 152.0, "mmol/L", ("EXP", "H"), F),)),
    ],
    "cepheid_style_at_repeat_vn_text.astm": [
        (
            "MTB0001",
            F,
            (
                ("MTB-RIF", "Dương tính~Rif: không phát hiện", None, (), F),
                ("HIV-1_VL", 1234.56, "{copies}/mL", ("A",), F),
            ),
        )
    ],
    "horiba_style_qc_doubled_backslash_lf.astm": [
        (
            "QC-LOW-01",
            F,
            (("WBC", 3.22, "10*3/uL", ("N",), F), ("MCV", 78.4, "fL", ("N",), P)),
        )
    ],
    "generic_patient_and_qc_order_o12_q.astm": [
        (
            "26071600417",
            F,
            (("GLU", 6.1, "mmol/L", ("N",), F), ("CREA", 88.0, "umol/L", ("N",), F)),
        ),
        (
            "26071600418",
            F,
            (("GLU", 5.4, "mmol/L", ("N",), F), ("CREA", 97.0, "umol/L", ("N",), F)),
        ),
    ],
    "generic_whole_message_qc_h12_q.astm": [
        (
            "26071600001",
            F,
            (("WBC", 7.02, "10*9/L", ("N",), F), ("HGB", 131.0, "g/L", ("N",), F)),
        )
    ],
}


def messages(path: Path) -> list[AstmMessage]:
    if not path.is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    return parse_transmission(path.read_bytes())


def results(path: Path, code_map: CodeMap | None = None) -> list[LabResult | QcResult]:
    out: list[LabResult | QcResult] = []
    for message in messages(path):
        name = match_dialect(message.header.record.fields) or "generic"
        out += lab_results_from_astm(message, code_map or CodeMap.empty(), name, load_dialect(name))
    return out


def lab(path: Path, code_map: CodeMap | None = None) -> list[LabResult]:
    found = results(path, code_map)
    assert all(isinstance(r, LabResult) for r in found)
    return [r for r in found if isinstance(r, LabResult)]


def summary(found: list[LabResult | QcResult]) -> list[Spec]:
    return [
        (
            r.specimen_id,
            r.status,
            tuple(
                (o.local_code.code, o.value, o.unit, tuple(o.flags), o.status)
                for o in r.observations
            ),
        )
        for r in found
    ]


SHARED_NAMES = sorted(p.name for p in SHARED.glob("astm_*.astm")) if SHARED.is_dir() else []


@pytest.mark.parametrize("name", sorted(set(SHARED_NAMES) | set(SHARED_RESULTS)))
def test_shared_file_yields_every_result(name: str) -> None:
    found = results(SHARED / name)
    assert summary(found) == SHARED_RESULTS.get(name, [])
    assert all(o.unmapped for r in found for o in r.observations if o.code is None)


@pytest.mark.parametrize("name", sorted(LOCAL_RESULTS))
def test_local_fixture_yields_every_result(name: str) -> None:
    assert summary(results(LOCAL / name)) == LOCAL_RESULTS[name]


def test_every_local_fixture_has_expectations() -> None:
    assert sorted(p.name for p in LOCAL.glob("*.astm")) == sorted(LOCAL_RESULTS)


def test_patient_names_in_vietnamese_order_times_aware_and_comments_attached() -> None:
    (result,) = lab(LOCAL / "sysmex_xn_style_cbc_vn_patient.astm")
    assert result.patient == PatientRef(
        id="BN2026-0042", name="Nguyễn Văn An", birth_date="1978-11-03", sex="male"
    )
    assert result.observations[0].observed_at == datetime(2026, 3, 1, 8, 30, 15, tzinfo=ICT)
    assert result.comments == ["PLT: Kết quả cần xem lại^PLT_Clumps?"]
    assert [t.code for t in result.ordered_tests] == ["WBC", "HGB", "PLT"]
    assert result.analyzer is not None
    assert (result.analyzer.manufacturer, result.analyzer.model, result.analyzer.serial) == (
        "Sysmex",
        "XN-550",
        "31245",
    )


def test_two_patients_ranges_and_order_times() -> None:
    first, second = lab(LOCAL / "erba_style_backtick_two_patients.astm")
    assert first.patient is not None
    assert second.patient is not None
    assert (first.patient.name, second.patient.name) == ("Lê Thị Hoa", "Phạm Đức")
    assert [o.reference_range for o in first.observations] == ["3.9-6.1", "62 TO 106"]
    assert [t.code for t in first.ordered_tests] == ["GLU", "CREA"]
    assert first.collected_at == datetime(2026, 3, 2, 7, 0, tzinfo=ICT)
    assert second.comments == ["ALT: Pha loãng 1`2"]


def test_cancelled_order_without_results_is_kept_with_its_comment() -> None:
    _, cancelled, _ = results(LOCAL / "architect_style_triplet_and_cancelled.astm")
    assert cancelled.observations == []
    assert cancelled.comments == ["Sample clotted"]


def test_qc_is_a_qc_result_with_its_level_and_loinc_comes_from_the_test_id() -> None:
    (qc,) = results(LOCAL / "horiba_style_qc_doubled_backslash_lf.astm")
    assert isinstance(qc, QcResult)
    assert (qc.role, qc.evidence, qc.ambiguous) == ("control", ["H-12=Q", "O-16=CTRL"], False)
    assert qc.level == "CTRLLOW"
    assert qc.comments == ["MCV: NON_COMPLIANT_message WBC ABNORMAL; SUSPECTED_PATHOLOGY ANEMIA"]
    assert [o.code.code if o.code else None for o in qc.observations] == ["6690-2", "787-2"]
    assert not any(o.unmapped for o in qc.observations)


def test_code_map_gives_hospital_code_and_loinc_else_unmapped() -> None:
    entry = CodeEntry("sysmex-xn", "WBC", "H17", "Số lượng bạch cầu", "6690-2", "WBC", "10*9/L")
    code_map = CodeMap({("sysmex-xn", "WBC"): entry})
    (result,) = results(LOCAL / "sysmex_xn_style_cbc_vn_patient.astm", code_map)
    wbc, hgb, _ = result.observations
    assert wbc.hospital_code is not None
    assert wbc.code is not None
    assert (wbc.hospital_code.code, wbc.code.code, wbc.unmapped) == ("H17", "6690-2", False)
    assert (hgb.hospital_code, hgb.code, hgb.unmapped) == (None, None, True)


def test_phadia_placeholder_dates_are_no_date() -> None:
    first = lab(SHARED / "astm_phadia_immunocap_lis2_results.astm")[0]
    assert first.collected_at == datetime(2003, 5, 3, tzinfo=ICT)
    assert first.patient is None  # P-8 18991230 is the only thing the P record says
    assert first.comments == ["t2: Response value in RU 2140"]


def test_a_mindray_bc_cbc_keeps_its_codes_and_names_the_dialect_that_read_it() -> None:
    path = LOCAL / "mindray_bc_style_cbc_vn_patient.astm"
    (result,) = results(path, load_code_map(EXAMPLE_MAP))
    assert isinstance(result, LabResult)
    assert result.analyzer == DeviceIdentity(
        manufacturer="Mindray", model="BC-6800", dialect="mindray-bc"
    )
    assert result.patient == PatientRef(
        id="BN2026-0107", name="Trần Thị Bích", birth_date="1985-02-14", sex="female"
    )
    wbc = result.observations[1]
    assert (wbc.local_code.display, wbc.code, wbc.hospital_code) == (
        "WBC",
        CodedValue(
            code="6690-2",
            system="LOINC",
            display="Leukocytes [#/volume] in Blood by Automated count",
        ),
        CodedValue(code="H17", system="hospital", display="Số lượng bạch cầu"),
    )
    assert not any("NO_CODE" in o.flags for o in result.observations)


def test_read_with_the_mindray_cl_layout_the_rows_are_flagged_no_code_never_silently() -> None:
    # What issue 12 saw: the CL layout reads the channel number from R-3 component 1, which a
    # BC leaves empty. The values still travel, flagged and unmapped, so the lab sees them.
    (message,) = parse_transmission((LOCAL / "mindray_bc_style_cbc_vn_patient.astm").read_bytes())
    (result,) = lab_results_from_astm(message, CodeMap.empty(), "x", load_dialect("mindray-cl"))
    assert [(o.local_code.code, o.value) for o in result.observations] == [
        ("", "CBC+DIFF"),
        ("", 9.81),
        ("", 65.0),
        ("", 212.0),
        ("", 1.4),
    ]
    assert all(o.flags[-1] == "NO_CODE" and o.unmapped for o in result.observations)
    assert result.analyzer is not None
    assert result.analyzer.dialect == "mindray-cl"


def test_every_result_names_the_dialect_it_was_read_with() -> None:
    for path in sorted(LOCAL.glob("*.astm")):
        for result in results(path):
            assert result.analyzer is not None
            header = parse_transmission(path.read_bytes())[0].header.record.fields
            assert result.analyzer.dialect == (match_dialect(header) or "generic")
