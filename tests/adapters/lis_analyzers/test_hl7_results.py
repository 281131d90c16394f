"""HL7 lab messages to LabResult: every corpus sample, read by hand, and our synthetic twins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.canonical.codes import DeviceIdentity, Observation, PatientRef, ResultStatus
from adapters.canonical.events import LabResult, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.dialect import load_hl7_dialect, match_hl7_dialect, msh_fields
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from tests.adapters.lis_analyzers.corpus import (
    LOCAL_LAB_FILES,
    SHARED,
    SHARED_LAB_FILES,
    example_map,
    load,
)

F, P, C, X, U = (
    ResultStatus.FINAL,
    ResultStatus.PRELIMINARY,
    ResultStatus.CORRECTED,
    ResultStatus.CANCELLED,
    ResultStatus.UNKNOWN,
)
ICT = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Row:
    """One expected observation: what the OBX says, after UCUM and the example code map."""

    local: str
    value: str | float | None
    unit: str | None
    flags: tuple[str, ...] = ()
    status: ResultStatus = F
    loinc: str | None = None
    hospital: str | None = None


@dataclass(frozen=True)
class Expected:
    source: str
    obx_segments: int
    """All OBX in the file."""
    skipped: int
    """OBX that are not results: images, waveforms, LAW supplemental, empty companions."""
    results: tuple[tuple[str | None, tuple[Row, ...]], ...]
    """(specimen id, observations) per LabResult."""


def bc(
    local: str,
    value: float | None,
    unit: str | None,
    flag: str | None,
    hospital: str | None,
    *,
    loinc: bool = True,
) -> Row:
    return Row(local, value, unit, (flag,) if flag else (), F, local if loinc else None, hospital)


BC5380 = Expected(
    "mindray-bc",
    27,
    0,
    (
        (
            "20071207011",
            (
                bc("6690-2", 9.81, "10*9/L", "N", "H17"),
                bc("704-7", None, "10*9/L", None, "XH201"),
                bc("706-2", None, None, None, "H20"),
                bc("751-8", None, "10*9/L", None, "XH181"),
                bc("770-8", None, None, None, "H18"),
                bc("711-2", None, "10*9/L", None, "XH191"),
                bc("713-8", None, None, None, "H19"),
                bc("731-0", None, "10*9/L", None, "XH221"),
                bc("736-9", None, None, None, "H22"),
                bc("742-7", None, "10*9/L", None, "XH211"),
                bc("5905-5", None, None, None, "H21"),
                bc("26477-0", None, "10*9/L", None, None),
                bc("13046-8", None, None, None, None),
                bc("10000", None, "10*9/L", None, None, loinc=False),
                bc("10001", None, None, None, None, loinc=False),
                bc("789-8", 4.53, "10*12/L", "N", "H01"),
                bc("718-7", 65.0, "g/L", "L", "H02"),
                bc("787-2", 89.5, "fL", "N", "H04"),
                bc("785-6", 14.4, "pg", "L", "H05"),
                bc("786-4", 160.0, "g/L", "L", "H06"),
                bc("788-0", 0.133, None, "N", "H07"),
                bc("21000-5", 50.9, "fL", "N", "XH071"),
                bc("4544-3", 0.405, None, "N", "H03"),
                bc("777-3", 212.0, "10*9/L", "N", "H13"),
                bc("32623-1", 6.6, "fL", "L", "XH131"),
                bc("32207-3", 15.4, None, "N", None),
                bc("10002", 1.40, "mL/L", "N", "XH133", loinc=False),
            ),
        ),
    ),
)
ALINITY = Expected(
    "abbott-alinity",
    1,
    0,
    (("VL00000101", (Row("1006", "< 20", "{copies}/mL", hospital="XV001"),)),),
)
COBAS_PURE = Expected(  # per OBR: NM result, empty CE companion, 4 S_OTHER supplemental OBX
    "roche-cobas-pure",
    12,
    10,
    (
        ("20391", (Row("20340", 9.02, "mg/dL", ("N",)),)),
        ("20391", (Row("20411", 106.0, "mg/dL", ("N",)),)),
    ),
)
COBAS_4800 = Expected(  # OBX 1 is a DR supplemental (run time range)
    "roche-cobas4800",
    2,
    1,
    (("VL00000501", (Row("0BHIV1", "3.26E+05 cp/mL", "1/mL", ("Full",)),)),),
)
BODITECH = Expected(  # OBX 2 and 3: empty OBX-3, the same HbA1c in other units; flag "0" as sent
    "boditech",
    3,
    0,
    (
        (
            "AAVAS01EX",
            (
                Row("HbA1c", "9.60", "%", ("0",), P, "4548-4", "XS101"),
                Row("HbA1c [mmol/mol]", "81.38", "mmol/mol", ("0",), P, "59261-8", "XS102"),
                Row("HbA1c [mg/dL]", "228.70", "mg/dL", ("0",), P, None, "XS103"),
            ),
        ),
    ),
)
SYNTH_BC = Expected(  # OBX 9 is an ED histogram; PLT -999 is the "no value" sentinel
    "mindray-bc",
    9,
    1,
    (
        (
            "SID-260315-0042",
            (
                Row("6690-2", 11.62, "10*9/L", ("H",), F, "6690-2", "H17"),
                Row("704-7", None, "10*9/L", (), F, "704-7", "XH201"),
                Row("789-8", 3.21, "10*12/L", ("L",), F, "789-8", "H01"),
                Row("718-7", 92.0, "g/L", ("L", "LL"), F, "718-7", "H02"),
                Row("4544-3", 0.281, None, ("L",), F, "4544-3", "H03"),
                Row("777-3", -999.0, "10*9/L", ("INVALID",), F, "777-3", "H13"),
                Row("10002", 1.62, "mL/L", ("N",), C, None, "XH133"),
                Row("10000", 0.04, "10*9/L", ("N",)),
            ),
        ),
    ),
)
SYNTH_LAW = Expected(  # 3 supplemental, 1 empty CE companion
    "lis-mw",
    8,
    4,
    (
        (
            "LAB260402-0113",
            (
                Row("1006", "<20", "{copies}/mL", (), C),  # the XV001 row is for abbott-alinity
                Row("1006", "Không phát hiện", None, ("N",), C),
            ),
        ),
        ("LAB260402-0113", (Row("20411", 5.4, "mmol/L", ("N",)),)),
        ("QC-LOW-0417", (Row("20411", 2.91, "mmol/L", ("N",)),)),
    ),
)
SYNTH_BODITECH = Expected(
    "boditech",
    3,
    0,
    (
        (
            "HBA-0405-007",
            (
                Row("HbA1c", "7.10", "%", ("0",), P, "4548-4", "XS101"),
                Row("HbA1c [mmol/mol]", "54.10", "mmol/mol", ("0",), P, "59261-8", "XS102"),
                Row("HbA1c [mg/dL]", "157.07", "mg/dL", ("0",), P, None, "XS103"),
            ),
        ),
    ),
)
SYNTH_EDGE = Expected(  # the first OBR has no OBX; OBX 5 is an NA array
    "mindray-bs",
    6,
    1,
    (
        (
            "BC-0406-002",
            (
                Row("5", "+", None, (), X),
                Row("1", 6.2, "mmol/L", ("N",), F, "2345-7", "XS001"),
                Row("9", "Nhóm A~Rh dương", None),
                Row("2", None, "umol/L", (), X, "2160-0", "XS002"),
                Row("3", 42.0, "U/L", ("H",), U, "1742-6", "XS003"),
            ),
        ),
    ),
)
SYNTH_SPM4_QC = Expected(  # a control named only in SPM-4 (QC3): a QcResult, see test_qc.py
    "hemalink-mw",
    3,
    0,
    (
        (
            "26071500123",
            (
                Row("6690-2", 18.42, "10*9/L", ("N",), F, "6690-2", "H17"),
                Row("718-7", 168.0, "g/L", ("N",), F, "718-7", "H02"),
                Row("777-3", 512.0, "10*9/L", ("N",), F, "777-3", "H13"),
            ),
        ),
    ),
)
EXPECTED = {
    "hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7": BC5380,
    "hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7": ALINITY,
    "hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7": COBAS_PURE,
    "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7": COBAS_4800,
    "hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7": BODITECH,
    "oru_r01_mindray_bc_style_cbc_vn_patient.hl7": SYNTH_BC,
    "oul_r22_law_patient_and_control_specimens.hl7": SYNTH_LAW,
    "oul_r24_boditech_style_hba1c_tx_vn_patient.hl7": SYNTH_BODITECH,
    "oru_r01_edge_cases_empty_group_qualitative_repeats.hl7": SYNTH_EDGE,
    "oul_r22_haematology_middleware_qc_in_spm4_only.hl7": SYNTH_SPM4_QC,
}


def results_of(name: str) -> list[LabResult | QcResult]:
    """As the gateway reads the file with ``dialect = "auto"`` (Mindray BS: barcode in OBR-2)."""
    expected = EXPECTED[name]
    message = load(name)
    dialect = load_hl7_dialect(match_hl7_dialect(msh_fields(message.msh)))
    return lab_results_from_hl7(message, example_map(), expected.source, dialect=dialect)


def lab(name: str) -> list[LabResult]:
    found = results_of(name)
    assert all(isinstance(r, LabResult) for r in found)
    return [r for r in found if isinstance(r, LabResult)]


def row_of(o: Observation) -> Row:
    return Row(
        o.local_code.code,
        o.value,
        o.unit,
        tuple(o.flags),
        o.status,
        o.code.code if o.code else None,
        o.hospital_code.code if o.hospital_code else None,
    )


def test_every_lab_sample_has_expectations() -> None:
    assert set(LOCAL_LAB_FILES) | set(SHARED_LAB_FILES) == set(EXPECTED)
    if SHARED.is_dir():
        on_disk = {
            p.name
            for pattern in ("hl7_oru_r01_mindray_bc5380*", "hl7_oul_r22_*", "hl7_oul_r24_*")
            for p in SHARED.glob(pattern)
        }
        assert on_disk == set(SHARED_LAB_FILES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_observations_match_what_the_file_says(name: str) -> None:
    expected = EXPECTED[name]
    results = results_of(name)
    got = tuple((r.specimen_id, tuple(row_of(o) for o in r.observations)) for r in results)
    assert got == expected.results
    message = load(name)
    assert len(message.all("OBX")) == expected.obx_segments
    observations = sum(len(r.observations) for r in results)
    assert observations == expected.obx_segments - expected.skipped
    for result in results:
        for observation in result.observations:
            assert observation.unmapped == (
                observation.code is None and observation.hospital_code is None
            )


def test_bc5380_patient_analyzer_and_times() -> None:
    (result,) = lab("hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7")
    assert result.patient == PatientRef(
        id="7393670", name="Joan JIang", birth_date="1990-08-04", sex="female"
    )
    assert result.analyzer == DeviceIdentity(
        model="BC-5380", manufacturer="Mindray", dialect="mindray-bc"
    )
    assert [(t.code, t.system, t.display) for t in result.ordered_tests] == [
        ("00001", "99MRC", "Automated Count")
    ]
    assert result.status is F
    assert result.collected_at == datetime(2008, 5, 8, 15, 6, 16, tzinfo=ICT)  # OBR-7, no offset
    wbc = result.observations[0]
    assert (wbc.local_code.system, wbc.code and wbc.code.system) == ("LN", "LOINC")
    assert wbc.reference_range == "4.00-10.00"
    assert wbc.hospital_code is not None
    assert wbc.hospital_code.display == "Số lượng bạch cầu"


def test_law_times_take_the_offset_of_msh7_and_equipment_comes_from_obx18() -> None:
    (alinity,) = lab("hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7")
    assert alinity.observations[0].observed_at == datetime(
        2026, 1, 12, 14, 29, 6, tzinfo=timezone(timedelta(hours=1))
    )  # OBX-19, MSH-7 +0100
    assert alinity.analyzer == DeviceIdentity(
        model="Alinity m", manufacturer="Abbott", serial="M00001", dialect="generic"
    )
    assert alinity.patient is None
    assert alinity.status is F


def test_controls_are_qc_results_and_supplemental_obx_become_comments() -> None:
    first, second = results_of("hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7")
    assert isinstance(first, QcResult)
    assert isinstance(second, QcResult)
    assert (first.role, first.control, first.ambiguous) == ("control", "PCCC1", False)
    assert first.evidence == ["SPM-2.1.2=CONTROL", "SAC-3.2=CONTROL", "SPM-11=Q", "INV-3=CO"]
    assert first.comments == [
        "Pipetting_Time: 20250701191426",
        "CalibrationID: 54",
        "QC_TARGET: 8.78 mg/dL",
        "QC_SD_RANGE: 0.361 mg/dL",
    ]
    assert "QC_TARGET: 106 mg/dL" in second.comments
    assert first.analyzer == DeviceIdentity(
        model="c303", manufacturer="ROCHE", serial="24V5-03", dialect="roche-cobas"
    )
    assert first.observations[0].observed_at == datetime(
        2025, 7, 1, 19, 24, 46, tzinfo=timezone(timedelta(hours=9))
    )
    (cobas4800,) = results_of("hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7")
    assert isinstance(cobas4800, QcResult)
    assert (cobas4800.role, cobas4800.control) == ("control", "NEG-CTRL-01")
    assert cobas4800.comments == ["Run Execution Time Range: 20260612163740^20260612194324"]


def test_boditech_specimen_comes_from_spm_not_the_zero_in_obr3() -> None:
    (result,) = lab("hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7")  # MSH-11 T ignored
    assert result.patient == PatientRef(id="PT0001")  # PID-8 "-" is no sex
    assert result.status is P
    assert result.collected_at == datetime(2026, 3, 23, 14, 43, 11, tzinfo=ICT)


def test_synthetic_vietnamese_patients_keep_their_diacritics() -> None:
    (bc_result,) = lab("oru_r01_mindray_bc_style_cbc_vn_patient.hl7")
    assert bc_result.patient == PatientRef(
        id="BN2026000123", name="Trần Thị Bích Ngọc", birth_date="1987-02-14", sex="female"
    )
    assert bc_result.status is C  # final and corrected results: the group is corrected
    *patients, control = results_of("oul_r22_law_patient_and_control_specimens.hl7")
    assert [
        r.patient.name if isinstance(r, LabResult) and r.patient else None for r in patients
    ] == [
        "Lê Văn Minh Đức",
        "Lê Văn Minh Đức",
    ]
    assert isinstance(control, QcResult)  # a control has no patient
    assert [r.comments[:1] for r in patients] == [["Pipetting_Time: 20260402091002"], []]
    (boditech,) = lab("oul_r24_boditech_style_hba1c_tx_vn_patient.hl7")
    assert boditech.patient == PatientRef(
        id="BN2026000789", name="Phạm Thị Thu Hương", sex="female"
    )


def test_synthetic_times_fractions_offsets_and_invalid_dates() -> None:
    (bc_result,) = results_of("oru_r01_mindray_bc_style_cbc_vn_patient.hl7")
    assert [o.observed_at for o in bc_result.observations[:3]] == [
        datetime(2026, 3, 15, 8, 29, 55, tzinfo=ICT),
        None,
        datetime(2026, 3, 15, 8, 29, 55, tzinfo=ICT),
    ]
    (edge,) = results_of("oru_r01_edge_cases_empty_group_qualitative_repeats.hl7")
    assert [o.observed_at for o in edge.observations] == [
        datetime(2026, 4, 6, 13, tzinfo=ICT),  # hour precision
        None,  # month 13: invalid, the result is still kept
        None,
        None,
        datetime(2026, 4, 6, 13, 59, 59, 123000, tzinfo=timezone(-timedelta(hours=3))),
    ]
    assert edge.status is P  # OBR-25 R wins over the OBX statuses
    law = results_of("oul_r22_law_patient_and_control_specimens.hl7")
    assert law[0].observations[0].observed_at == datetime(2026, 4, 2, 9, 42, 11, 500000, tzinfo=ICT)


def test_times_without_any_offset_use_the_given_zone() -> None:
    message = load("hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7")
    utc = lab_results_from_hl7(message, CodeMap.empty(), "x", local_zone=UTC)
    assert utc[0].collected_at == datetime(2026, 3, 23, 14, 43, 11, tzinfo=UTC)


def test_an_empty_code_map_forwards_everything_as_unmapped_except_loinc() -> None:
    (result,) = lab_results_from_hl7(
        load("hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7"),
        CodeMap.empty(),
        "mindray-bc",
    )
    unmapped = [o.local_code.code for o in result.observations if o.unmapped]
    assert unmapped == ["10000", "10001", "10002"]  # 99MRC private codes; the rest are LN
    assert all(o.hospital_code is None for o in result.observations)


def test_source_specific_rows_only_apply_to_their_source() -> None:
    (result,) = results_of("oru_r01_mindray_bc_style_cbc_vn_patient.hl7")
    assert result.observations[6].hospital_code is not None  # mindray-bc,10002
    (other,) = lab_results_from_hl7(
        load("oru_r01_mindray_bc_style_cbc_vn_patient.hl7"), example_map(), "sysmex-xn"
    )
    assert other.observations[6].unmapped
    assert other.observations[0].hospital_code is not None  # the * row still applies


def test_rows_keyed_by_dialect_apply_to_any_device_read_with_that_dialect() -> None:
    # A device id nobody keyed rows by: the dialect auto picked (mindray-bs) finds its rows.
    message = load("oru_r01_edge_cases_empty_group_qualitative_repeats.hl7")
    dialect = load_hl7_dialect(match_hl7_dialect(msh_fields(message.msh)))
    assert dialect.name == "mindray-bs"
    (result,) = lab_results_from_hl7(message, example_map(), "chem-lab-3", dialect=dialect)
    glucose = next(o for o in result.observations if o.local_code.code == "1")
    assert glucose.hospital_code is not None
    assert glucose.hospital_code.code == "XS001"


@pytest.mark.parametrize(
    "raw",
    [
        b"MSH|^~\\&|X||||20260101||ORU^R40^ORU_R40|1|P|2.6\rOBR|1\rOBX|1|NM|1||5\r",
        b"MSH|^~\\&|X||||20260101||ORR^O02|1|P|2.3.1\rOBR|1||S1|x\rOBX|1|IS|1||O\r",
        b"MSH|^~\\&|X||||20260101||ORU^W01|1|P|2.4\rOBR|1\rOBX|1|NA|1||1^2\r",
        b"MSH|^~\\&|X||||20260101||ORU^R01|1|P|2.3.1\rPID|1||P1\rOBR|1||S1|x\r",  # no OBX
        b"MSH|^~\\&|X||||20260101||OUL^R22|1|P|2.5\rOBX|1|NM|1||5\r",  # OBX outside any OBR
    ],
)
def test_no_results_for_other_types_and_groups_without_obx(raw: bytes) -> None:
    assert lab_results_from_hl7(parse_message(raw), CodeMap.empty(), "x") == []


@pytest.mark.parametrize(
    ("obx5", "value_type", "value"),
    [
        ("12.5", "NM", 12.5),
        ("  7 ", "NM", 7.0),
        ("NaN", "NM", "NaN"),
        ("<^20", "SN", "<20"),
        ("^20", "SN", 20.0),
        ("^1^:^128", "SN", "1:128"),
        ("POS^Dương tính^L", "CWE", "Dương tính"),
        ("POS", "CE", "POS"),
        ("dương tính\\S\\mạnh", "ST", "dương tính^mạnh"),
        ("a~b", "ST", "a~b"),
        ("1.50~2.00", "NM", "1.50~2.00"),
        ('""', "ST", None),
        ("", "NM", None),
    ],
)
def test_value_types(obx5: str, value_type: str, value: object) -> None:
    raw = (
        f"MSH|^~\\&|X||||20260101||ORU^R01|1|P|2.5\rOBR|1||S1\r"
        f"OBX|1|{value_type}|K||{obx5}|10\\S\\9/L\r"
    ).encode()
    (result,) = lab_results_from_hl7(parse_message(raw), CodeMap.empty(), "x")
    assert result.observations[0].value == value
    assert result.observations[0].unit == "10*9/L"


def test_an_obx_without_a_code_is_forwarded_flagged_no_code() -> None:
    raw = b"MSH|^~\\&|X||||20260101||ORU^R01|1|P|2.5\rOBR|1||S1\rOBX|1|NM|||9.81|10*9/L\r"
    (result,) = lab_results_from_hl7(parse_message(raw), CodeMap.empty(), "x")
    (observation,) = result.observations
    assert (observation.local_code.code, observation.value) == ("", 9.81)
    assert observation.flags == ["NO_CODE"]
    assert observation.unmapped
