"""E1394 records: delimiters, escapes, the record tree, every corpus file, garbage, dialects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.astm.dialect import (
    DIALECTS_DIR,
    Dialect,
    DialectError,
    available_dialects,
    load_dialect,
    match_dialect,
)
from adapters.astm.escape import Delimiters, escape, unescape
from adapters.astm.records import AstmRecordError, parse_records, parse_transmission
from adapters.canonical.codes import ResultStatus

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus" / "astm" / "records"
LOCAL_FILES = sorted(p.name for p in LOCAL.glob("*.astm"))
SHARED_FILES = sorted(p.name for p in SHARED.glob("astm_*.astm")) if SHARED.is_dir() else []


def shared(name: str) -> bytes:
    if not (SHARED / name).is_file():
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    return (SHARED / name).read_bytes()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"H|\\^&|||X", Delimiters("|", "\\", "^", "&")),
        (b"H|`^&", Delimiters("|", "`", "^", "&")),  # Erba
        (b"H|@^\\|GXM", Delimiters("|", "@", "^", "\\")),  # GeneXpert
        (b"H|\\\\^&|||H550", Delimiters("|", "\\", "^", "&")),  # doubled backslash artefact
        (b"H|\\#&", Delimiters("|", "\\", "#", "&")),  # go-astm component '#'
    ],
)
def test_delimiters_come_from_the_header(header: bytes, expected: Delimiters) -> None:
    assert parse_records(header + b"\rL|1|N\r").delimiters == expected


@pytest.mark.parametrize(
    "data",
    [b"", b"\r\r\n", b"P|1\rL|1", b"H", b"H|", b"H|\\^", b"H|\\^^&", b"Habc", b"H|a^&", b"\xff"],
)
def test_garbage_raises_the_declared_error(data: bytes) -> None:
    with pytest.raises(AstmRecordError):
        parse_records(data)


def test_several_messages_need_parse_transmission() -> None:
    data = b"H|\\^&\rL|1|N\rH|\\^&\rL|1|N\r"
    with pytest.raises(AstmRecordError, match="parse_transmission"):
        parse_records(data)
    assert len(parse_transmission(data)) == 2


def test_record_tree_comments_and_manufacturer_records_follow_their_record() -> None:
    message = parse_records(
        b"H|\\^&\rC|1|I|on header\rP|1|p1\rC|1||on patient\rO|1|s1\rR|1|^^^A|1\r"
        b"C|1|I|on R1\rM|1|lot\rR|2|^^^B|2\rP|2|p2\rO|1|s2\rR|1|^^^C|3\rQ|1|^s9\r"
        b"C|1||on query\rL|1|N\r"
    )
    assert [c.text(4) for c in message.header.comments] == ["on header"]
    first, second = message.patients
    assert first.record.text(3) == "p1"
    assert [c.text(4) for c in first.comments] == ["on patient"]
    (order,) = first.children
    r1, r2 = order.children
    assert ([c.text(4) for c in r1.comments], [m.text(3) for m in r1.manufacturer]) == (
        ["on R1"],
        ["lot"],
    )
    assert r2.comments == ()
    assert second.children[0].children[0].record.component(3, 4) == "C"
    (query,) = message.queries
    assert query.record.component(3, 2) == "s9"
    assert [c.text(4) for c in query.comments] == ["on query"]
    assert message.termination_code == "N"
    assert [r.type for r in message.records] == list("HCPCORCMRPORQCL")


def test_orphan_orders_and_results_get_empty_parents_and_frame_digits_go() -> None:
    message = parse_records(b"1H|\\^&\r2R|1|^^^X|5\r3O|1|s1\r4R|1|^^^Y|6\r5L|1N\r")
    assert message.termination_code == "N"  # malformed L|1N
    (patient,) = message.patients
    assert patient.record.fields == ("P",)
    empty, real = patient.children
    assert empty.record.fields == ("O",)
    assert empty.children[0].record.component(3, 4) == "X"
    assert real.record.text(3) == "s1"
    assert real.children[0].record.component(3, 4) == "Y"


def test_accessors_split_first_then_unescape() -> None:
    message = parse_records(b"H|\\^&\rP|1||a&F&b^c&S&d\\e&R&f&E&g^^|x\r")
    p = message.patients[0].record
    assert p.field(4) == "a&F&b^c&S&d\\e&R&f&E&g^^"
    assert p.components(4) == ["a|b", "c^d"]
    assert p.component(4, 1, rep=1) == "e\\f&g"
    assert p.component(4, 9) == ""
    assert p.component(9) == ""
    assert p.components(4, rep=5) == []
    assert message.header.record.components(2) == ["\\^&"]


def test_line_endings_per_dialect() -> None:
    data = b"H|\\^&|\nP|1|a\r\nL|1|N"
    assert len(parse_records(data).records) == 3
    lf = load_dialect("generic").model_copy(update={"line_ending": "lf"})
    assert [r.type for r in parse_records(data, dialect=lf).records] == ["H", "P", "L"]
    cr = lf.model_copy(update={"line_ending": "cr"})
    assert [r.type for r in parse_records(data, dialect=cr).records] == ["H", "L"]


def test_link_layer_records_and_encodings() -> None:
    records = [b"H|\\^&", "P|1||||Lê^Hà".encode("cp1258"), b"L|1|N"]
    message = parse_records(records, encoding="cp1258")
    assert message.patients[0].record.component(6, 2) == "Hà"
    with pytest.raises(AstmRecordError, match="not utf-8"):
        parse_records(records)
    with pytest.raises(AstmRecordError, match="unknown encoding"):
        parse_records(records, encoding="no-such-codec")


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("a&F&b&S&c&R&d&E&e", "a|b^c\\d&e"),
        ("&X0D0A&", "\r\n"),
        ("&XC3A9& &XE9&", "é é"),
        ("Dr A & B &F& x", "Dr A & B | x"),  # a lone escape char stays
        ("&Zlocal& &XZZ& &", "&Zlocal& &XZZ& &"),
    ],
)
def test_unescape(raw: str, text: str) -> None:
    assert unescape(raw, Delimiters()) == text


@given(
    st.text(),
    st.sampled_from(
        [Delimiters(), Delimiters("|", "`", "^", "&"), Delimiters("|", "@", "^", "\\")]
    ),
)
def test_escape_round_trips(text: str, delimiters: Delimiters) -> None:
    escaped = escape(text, delimiters)
    assert not set(escaped) & {delimiters.field, delimiters.repeat, delimiters.component, "\r"}
    assert unescape(escaped, delimiters) == text


@given(st.binary(max_size=400) | st.lists(st.binary(max_size=60), max_size=6))
def test_any_bytes_give_a_message_or_the_declared_error(data: bytes | list[bytes]) -> None:
    try:
        messages = parse_transmission(data)
    except AstmRecordError:
        return
    for message in messages:
        for record in message.records:
            for n in range(1, len(record.fields) + 2):
                record.components(n)
        _ = message.termination_code


@given(
    st.lists(
        st.sampled_from(
            [
                "H|\\^&",
                "P|1",
                "O|1|s",
                "R|1|^^^A|1",
                "C|1||c",
                "M|1",
                "Q|1|^s",
                "L|1|N",
                "S|1",
                "",
                "4R|2",
            ]
        ),
        max_size=12,
    )
)
def test_any_record_sequence_after_a_header_parses(lines: list[str]) -> None:
    messages = parse_transmission(("\r".join(["H|\\^&", *lines])).encode())
    assert sum(len(m.records) for m in messages) == 1 + sum(1 for line in lines if line)


@pytest.mark.parametrize("name", SHARED_FILES or ["(shared corpus absent)"])
def test_every_shared_astm_file_parses(name: str) -> None:
    messages = parse_transmission(shared(name))
    assert messages
    assert all(m.records[0].type == "H" for m in messages)


@pytest.mark.parametrize("name", LOCAL_FILES)
def test_every_local_fixture_parses_and_matches_a_dialect(name: str) -> None:
    (message,) = parse_transmission((LOCAL / name).read_bytes())
    # generic_*: an unknown sender on purpose (the E1394 QC marks need no dialect).
    matched = match_dialect(message.header.record.fields)
    assert (matched is None) == name.startswith("generic_")


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ("astm_sysmex_xn_cbc_results.astm", "sysmex-xn"),
        ("astm_mindray_bs800_record_examples.astm", "mindray-bs"),
        ("astm_mindray_cl1000i_manual_record_examples.astm", "mindray-cl"),
        ("astm_erba_xl1000_order_download_backtick_delims.astm", "erba-xl"),
        ("astm_erba_xl_query_multi_sample_backtick.astm", "erba-xl"),
        ("astm_abbott_architect_host_query.astm", "abbott-architect"),
        ("astm_abbott_m2000_viral_load_F_I_pair.astm", "abbott-architect"),
        ("astm_horiba_yumizen_h550_cbc_loinc_in_test_id_flags.astm", "horiba-yumizen"),
        ("astm_phadia_immunocap_lis2_results.astm", "phadia-immunocap"),
        ("astm_cepheid_genexpert_at_sign_repeat_delimiter.astm", "cepheid-genexpert"),
        ("astm_ortho_vision_keepalive.astm", "ortho-vision"),
        ("astm_roche_amplilink_taqman_viral_load.astm", "roche-amplilink"),
        ("astm_immucor_neo_multi_q_records_query.astm", None),
        ("astm_siemens_centaur_xpt_no_order_reply.astm", "siemens-centaur"),
    ],
)
def test_auto_dialect_matches_the_corpus_headers(name: str, dialect: str | None) -> None:
    message = parse_transmission(shared(name))[0]
    assert match_dialect(message.header.record.fields) == dialect


def test_roche_cobas_matches_its_headers() -> None:
    assert match_dialect(["H", "\\^&", "", "", "H7600^1", "", "", "", "", "host"]) == "roche-cobas"
    assert match_dialect(["H", "\\^&", "", "", "cobas u 311^1"]) == "roche-cobas"


@pytest.mark.parametrize("path", sorted(DIALECTS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_dialect_file_loads_and_validates(path: Path) -> None:
    name = path.stem.replace("_", "-")
    dialect = load_dialect(name)
    assert isinstance(dialect, Dialect)
    assert dialect.name == name
    assert dialect.description
    assert "#" in path.read_text(encoding="utf-8")  # each quirk documented with its sample
    assert name in available_dialects()


def test_required_dialects_exist() -> None:
    assert {"generic", "sysmex-xn", "mindray-bs", "erba-xl", "roche-cobas"} <= set(
        available_dialects()
    )


def test_dialect_tables_extend_the_standard() -> None:
    horiba = load_dialect("horiba-yumizen")
    assert horiba.status("W") is ResultStatus.PRELIMINARY
    assert horiba.status(" f ") is ResultStatus.FINAL
    assert horiba.status("I") is ResultStatus.UNKNOWN
    assert [r.role for r in horiba.role_rules][-2:] == ["control", "control"]


@pytest.mark.parametrize("name", ["nope", "../generic", "Generic", ""])
def test_unknown_or_unsafe_dialect_names_are_refused(name: str) -> None:
    with pytest.raises(DialectError):
        load_dialect(name)


@pytest.mark.parametrize(
    ("update", "problem"),
    [
        ({"match": {1: "x"}}, "does not exist"),
        ({"match": {5: "("}}, "match"),
        ({"test_code_components": []}, "test_code_components"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_dialect_validation_rejects_bad_data(update: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Dialect.model_validate({"name": "x", "description": "x", **update})
