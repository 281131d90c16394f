"""``dialect = "auto"``: a dialect is chosen only when exactly one dialect's rules fit (ADR 0016).

Acceptance 3 of issue 12: every dialect's match rules run against every corpus header (the
shared corpus when checked out beside the repo, and the committed fixtures); no header fits two.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.astm import dialect as dialect_module
from adapters.astm.dialect import available_dialects, dialect_candidates, match_dialect
from adapters.astm.records import AstmRecordError, parse_transmission
from tests.hardware_sim.astm_transcripts import messages_in_file

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus" / "astm"
LOCAL_FILES = sorted([*LOCAL.rglob("*.astm"), *LOCAL.rglob("*.bin")])
SHARED_FILES = (
    sorted([*SHARED.glob("astm_*.astm"), *SHARED.glob("astm_*.bin")]) if SHARED.is_dir() else []
)
BC_HEADER = ["H", "\\^&", "", "", "Mindray^BC-6800^", "", "", "", "", "", "", "PR", "LIS2-A2"]


def headers(path: Path) -> Iterator[tuple[str, ...]]:
    """The raw fields of every H record in a sample (framed .bin samples are unframed first)."""
    for records in messages_in_file(path):
        try:
            messages = parse_transmission(records)
        except AstmRecordError:
            continue  # python-astm's codec vectors: frames of A|B|C|D, not E1394 messages
        yield from (m.header.record.fields for m in messages)


def assert_at_most_one_dialect(path: Path) -> int:
    found = 0
    for fields in headers(path):
        found += 1
        candidates = dialect_candidates(fields)
        assert len(candidates) <= 1, f"{path.name}: H-5 {fields[4:5]} fits {candidates}"
        assert match_dialect(fields) == (candidates[0] if candidates else None)
    return found


@pytest.mark.parametrize("path", SHARED_FILES or [None], ids=lambda p: p.name if p else "absent")
def test_no_shared_corpus_header_fits_two_dialects(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"shared corpus not checked out beside the repo ({SHARED})")
    assert_at_most_one_dialect(path)


@pytest.mark.parametrize("path", LOCAL_FILES, ids=lambda p: p.name)
def test_no_committed_fixture_header_fits_two_dialects(path: Path) -> None:
    assert assert_at_most_one_dialect(path) >= 1


def test_a_mindray_bc_header_is_read_as_mindray_bc_never_as_mindray_cl() -> None:
    # Issue 12: H-5 Mindray^BC-... matched the CL immunoassay dialect and lost WBC and HGB codes.
    assert dialect_candidates(BC_HEADER) == ("mindray-bc",)
    for sender in ("Mindray^BC-5380^01.00", "Mindray^BC-30s", "Mindray^BC-3600^^123"):
        assert match_dialect(["H", "\\^&", "", "", sender]) == "mindray-bc"


def test_mindray_cl_still_matches_its_own_headers() -> None:
    for sender in ("Mindray^^", "Mindray^CL-1000i^1.0", "Mindray^CL2000i"):
        assert match_dialect(["H", "\\^&", "", "", sender]) == "mindray-cl", sender
    assert match_dialect(["H", "\\^&", "", "", "Mindray^BS-800^"]) is None


@pytest.fixture
def overlapping_dialects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A dialects folder where two dialects fit the same Mindray header."""
    for name, pattern in (("vendor_a", "^Mindray\\\\^"), ("vendor_b", "\\\\^BC-")):
        (tmp_path / f"{name}.toml").write_text(
            f'# test\ndescription = "{name}"\nmatch = {{ 5 = "{pattern}" }}\n', encoding="utf-8"
        )
    (tmp_path / "generic.toml").write_text('# test\ndescription = "g"\n', encoding="utf-8")
    monkeypatch.setattr(dialect_module, "DIALECTS_DIR", tmp_path)
    dialect_module.load_dialect.cache_clear()
    yield tmp_path
    dialect_module.load_dialect.cache_clear()


@pytest.mark.usefixtures("overlapping_dialects")
def test_several_fitting_dialects_give_no_match_instead_of_the_first_by_name() -> None:
    assert available_dialects() == ("generic", "vendor-a", "vendor-b")
    assert dialect_candidates(BC_HEADER) == ("vendor-a", "vendor-b")
    assert match_dialect(BC_HEADER) is None  # before ADR 0016: "vendor-a", a silent guess
    assert match_dialect(["H", "\\^&", "", "", "Mindray^CL-1000i"]) == "vendor-a"


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@given(st.lists(_TEXT, max_size=16), st.sampled_from(["Mindray^", "BS800^", "XN-", "OCD^VISION^"]))
def test_any_header_gets_the_single_fitting_dialect_or_none(fields: list[str], prefix: str) -> None:
    header = ["H", "\\^&", *fields]
    if len(header) > 4:
        header[4] = prefix + header[4]
    candidates = dialect_candidates(header)
    chosen = match_dialect(header)
    assert chosen == (candidates[0] if len(candidates) == 1 else None)
    assert set(candidates) <= set(available_dialects()) - {"generic"}


@pytest.mark.parametrize(
    "sender",
    [
        "Mindray^" * 100_000,  # huge
        "Mindray^BC-" + "^" * 50_000 + "\x00\xff",  # nested components, control bytes
        "\u202e" + "Mindray^BC-6800",  # a bidi override before the maker
        "",
    ],
)
def test_hostile_sender_fields_never_raise_and_fit_at_most_one(sender: str) -> None:
    header = ["H", "\\^&", "", "", sender, *[""] * 10_000]
    assert len(dialect_candidates(header)) <= 1
