"""HL7 lab dialects as data: every file validates, and every corpus header fits at most one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import adapters.hl7.dialect as dialect_module
from adapters.codemap import CodeMap
from adapters.hl7.dialect import (
    GENERIC,
    Hl7DialectError,
    available_dialects,
    load_hl7_dialect,
    match_hl7_dialect,
    matching_dialects,
    msh_fields,
)
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.hl7_reader import AnalyzerReader
from gateway.config.inventory import DeviceSettings
from tests.hardware_sim.hl7_sender import messages_in_file

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus"
# What auto picks for each corpus HL7 file (first message); files not listed pick generic.
EXPECTED = {
    "hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7": "mindray-bc",
    "hl7_mindray_bs200e_qc_msh16_query_qrd_and_qck_reply_mllp.bin": "mindray-bs",
    "hl7_orr_o02_mindray_bc5000_order_response_host_to_analyzer.hl7": "generic",  # to analyzer
    "hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7": "roche-cobas",
    "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7": "roche-cobas",
    "hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7": "boditech",
    "oru_r01_mindray_bc_style_cbc_vn_patient.hl7": "mindray-bc",
    "oru_r01_edge_cases_empty_group_qualitative_repeats.hl7": "mindray-bs",
    "oul_r24_boditech_style_hba1c_tx_vn_patient.hl7": "boditech",
    "oru_r01_lab_20_obx.hl7": "mindray-bc",
    "oru_r01_mindray_bs_style_msh16_patient.hl7": "mindray-bs",
}


def header(raw: bytes) -> dict[int, str]:
    # latin-1 decodes any byte: only MSH (ASCII) is read here, and names use other charsets.
    return msh_fields(parse_message(raw, default_encoding="latin-1", trust_msh18=False).msh)


def corpus_hl7() -> list[Path]:
    shared = sorted(SHARED.glob("hl7_*")) if SHARED.is_dir() else []
    return shared + sorted(LOCAL.glob("*/*.hl7"))


@pytest.mark.parametrize("name", available_dialects())
def test_every_dialect_file_validates(name: str) -> None:
    dialect = load_hl7_dialect(name)
    assert dialect.name == name
    assert dialect.description


@pytest.mark.parametrize("path", corpus_hl7(), ids=lambda p: p.name)
def test_every_corpus_header_matches_at_most_one_dialect(path: Path) -> None:
    for raw in messages_in_file(path):
        found = matching_dialects(header(raw))
        assert len(found) <= 1, f"{path.name}: MSH fits {found}"
    first = header(messages_in_file(path)[0])
    assert match_hl7_dialect(first) == EXPECTED.get(path.name, GENERIC)


def test_every_expected_file_exists_somewhere() -> None:
    names = {p.name for p in corpus_hl7()}
    local = {n for n in EXPECTED if not n.startswith("hl7_")}
    assert local <= names
    if SHARED.is_dir():
        assert set(EXPECTED) <= names


def test_a_tie_between_dialects_reads_generic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("acme-a", "acme-b"):
        (tmp_path / f"{name.replace('-', '_')}.toml").write_text(
            f'description = "{name}"\nmatch = {{ 3 = "^ACME" }}\n', encoding="utf-8"
        )
    (tmp_path / "generic.toml").write_text('description = "g"\n', encoding="utf-8")
    monkeypatch.setattr(dialect_module, "DIALECTS_DIR", tmp_path)
    load_hl7_dialect.cache_clear()
    try:
        assert matching_dialects({3: "ACME-9"}) == ("acme-a", "acme-b")
        assert match_hl7_dialect({3: "ACME-9"}) == GENERIC
        assert match_hl7_dialect({3: "OTHER"}) == GENERIC
    finally:
        load_hl7_dialect.cache_clear()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('description = "x"\nmatch = { 3 = "(" }\n', "pattern"),
        ('description = "x"\nmatch = { 1 = "x" }\n', "MSH-1 is a delimiter"),
        ('name = "x"\ndescription = "x"\n', "remove 'name'"),
        ('description = "x"\nspecimen_field = 2\n', "Extra inputs"),
        (
            'description = "x"\n[[qc]]\nsegment = "spm"\nfield = 4\npattern = "QC"\nrole = "c"\n',
            "segment",
        ),
        (
            'description = "x"\n[[qc]]\nsegment = "SPM"\nfield = 4\npattern = "[QC"\nrole = "c"\n',
            "pattern",
        ),
        ('description = "x"\nprocessing_id = "maybe"\n', "processing_id"),
        ("description = \n", "Invalid"),
    ],
)
def test_a_broken_dialect_file_names_itself_and_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, error: str
) -> None:
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(dialect_module, "DIALECTS_DIR", tmp_path)
    load_hl7_dialect.cache_clear()
    try:
        with pytest.raises(Hl7DialectError, match=error) as raised:
            load_hl7_dialect("broken")
        assert "broken.toml" in str(raised.value)
    finally:
        load_hl7_dialect.cache_clear()


def test_unknown_names_are_refused() -> None:
    with pytest.raises(Hl7DialectError, match="known: abbott-alinity"):
        load_hl7_dialect("acme")
    with pytest.raises(Hl7DialectError, match="not a dialect name"):
        load_hl7_dialect("../generic")


MSH_TEXT = st.text(st.characters(blacklist_characters="|\r\n", blacklist_categories=["Cs"]))


@given(st.dictionaries(st.integers(3, 21), MSH_TEXT, max_size=8))
def test_any_header_picks_one_shipped_dialect_or_generic(fields: dict[int, str]) -> None:
    assert match_hl7_dialect(fields) in available_dialects()


def test_hl7_analyzers_default_to_auto_and_refuse_unknown_dialects() -> None:
    base = {"id": "a-1", "kind": "hl7-analyzer", "connection": "listen://0.0.0.0:5100"}
    assert DeviceSettings.model_validate(base).dialect == "auto"
    assert DeviceSettings.model_validate({**base, "dialect": "boditech"}).dialect == "boditech"
    with pytest.raises(ValueError, match="is not a dialect of kind 'hl7-analyzer'"):
        DeviceSettings.model_validate({**base, "dialect": "sysmex-xn"})  # an ASTM dialect
    scanner = {"id": "s-1", "kind": "serial-scanner", "connection": "tcp://127.0.0.1:9"}
    assert DeviceSettings.model_validate(scanner).dialect == "generic"


def test_the_reader_logs_the_dialect_once_per_connection_and_carries_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = LOCAL / "lab" / "oul_r24_boditech_style_hba1c_tx_vn_patient.hl7"
    message = parse_message(path.read_bytes())
    reader = AnalyzerReader("poct-1", "auto", CodeMap.empty(), "10.0.0.7:50123")
    with caplog.at_level(logging.INFO, logger="adapters.lis_analyzers.hl7_reader"):
        events = reader(message) + reader(message)
    said = [r.getMessage() for r in caplog.records]
    assert said == ["device poct-1 (10.0.0.7:50123): auto-matched HL7 dialect boditech"]
    assert all(e.analyzer is not None and e.analyzer.dialect == "boditech" for e in events)  # type: ignore[union-attr]
    caplog.clear()
    other = AnalyzerReader("poct-1", "auto", CodeMap.empty(), "10.0.0.7:50124")  # reconnect
    with caplog.at_level(logging.INFO, logger="adapters.lis_analyzers.hl7_reader"):
        other(message)
    assert len(caplog.records) == 1


def test_the_reader_warns_once_when_it_takes_the_safe_side(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = (
        "MSH|^~\\&|POCT-X||LIS||20260715083012||OUL^R24|1|T|2.6\rPID||BN1||Nguyễn^An\r"
        "OBR|1||S1|HBA\rOBX|1|NM|HbA1c||6.1|%\r"
    ).encode()
    reader = AnalyzerReader("poct-2", "auto", CodeMap.empty(), "peer")
    with caplog.at_level(logging.WARNING, logger="adapters.lis_analyzers.hl7_reader"):
        reader(parse_message(raw))
        reader(parse_message(raw))
    (warning,) = caplog.records
    assert "qc_result" in warning.getMessage()
    assert "MSH-11=T" in warning.getMessage()
    assert "Nguyễn" not in warning.getMessage()  # marks only, never the patient
