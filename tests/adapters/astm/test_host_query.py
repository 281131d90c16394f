"""Host query: the questions corpus analyzers ask, and the records we send back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.astm.dialect import load_dialect
from adapters.astm.host_query import host_query, no_information_records, order_records
from adapters.astm.records import parse_records
from adapters.canonical.codes import PatientRef
from adapters.canonical.orders import Order
from tests.e2e.test_hl7_analyzer import SHARED_CORPUS

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
ARCHITECT_QUERY = (
    b"H|\\^&|||ARCHITECT^9.45^F3452180006^H1P1O1R1C1Q1L1|||||||P|1|20240131155309\r"
    b"Q|1|^129903||^^^ALL||||||||O\r"
    b"L|1\r"
)


def corpus(name: str) -> bytes:
    path = SHARED_CORPUS / name
    if not path.exists():
        pytest.skip(f"shared corpus file {path} is absent (bare clone)")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "dialect", "specimens"),
    [
        ("astm_abbott_architect_host_query.astm", "abbott-architect", ["129903"]),
        ("astm_siemens_centaur_xpt_no_order_reply.astm", "siemens-centaur", ["SID10768"]),
        (
            "astm_erba_xl_query_multi_sample_backtick.astm",
            "erba-xl",
            ["1007149", "1007152", "1007151", "1007150", "1007148", "10006122"],
        ),
        (
            "astm_immucor_neo_multi_q_records_query.astm",
            "generic",
            [f"VALI20030{n}" for n in range(1, 6)],
        ),
    ],
)
def test_specimen_ids_of_corpus_queries(name: str, dialect: str, specimens: list[str]) -> None:
    message = parse_records(corpus(name))
    query = host_query(message, load_dialect(dialect))
    assert query is not None
    assert query.specimen_ids == specimens
    assert query.tests == ()


def test_roche_barcode_is_component_three_and_the_rack_position_is_echoed() -> None:
    message = parse_records(
        b"H|\\^&|||cobas u 311^1|||||host|TSREQ^REAL|P|1\r"
        b"Q|1|^^00002^3^50002^002^^S1^SC||ALL||||||||O\r"
        b"L|1|N\r"
    )
    dialect = load_dialect("roche-cobas")
    query = host_query(message, dialect)
    assert query is not None
    assert query.specimen_ids == ["00002"]
    records = order_records(
        message, query, [Order(specimen_id="00002", tests=["798"])], dialect, NOW
    )
    order = records[2].split(b"|")
    assert order[2] == b"00002"
    assert order[3] == b"3^50002^002^^S1^SC"
    assert order[4] == b"^^^798"


def test_orders_come_back_in_the_analyzers_delimiters_with_patient_and_tests() -> None:
    message = parse_records(
        b"H|`^&||||||||||P|E 1394-97|20260718\rQ|1|^A1`^A2|||S|||||||O\rL|1|N\r"
    )
    dialect = load_dialect("erba-xl")
    query = host_query(message, dialect)
    assert query is not None
    orders = [
        Order(
            specimen_id="A2",
            tests=["GLU", "ALT|x"],
            priority="S",
            patient=PatientRef(id="BN-1", name="NGUYỄN THỊ ÁNH", sex="female"),
        )
    ]
    records = order_records(message, query, orders, dialect, NOW)
    assert [r[:1] for r in records] == [b"H", b"P", b"O", b"L"]
    assert records[0].startswith(b"H|`^&|||WardLink|")
    assert records[1] == "P|1|BN-1|||NGUYỄN THỊ ÁNH|||F".encode()
    fields = records[2].split(b"|")
    assert fields[2] == b"A2"
    assert fields[4] == b"^^^GLU`^^^ALT&F&x"  # backtick repeat; the field delimiter escaped
    assert fields[5] == b"S"
    assert fields[11] == b"N"
    assert fields[25] == b"O"
    assert records[3] == b"L|1|F"
    # What we send parses back with our own reader: the round trip a real analyzer does.
    echo = parse_records(b"\r".join(records))
    assert echo.patients[0].children[0].record.components(5, rep=1) == ["", "", "", "ALT|x"]


def test_no_information_per_dialect() -> None:
    message = parse_records(ARCHITECT_QUERY)
    query = host_query(message, load_dialect("generic"))
    assert query is not None
    plain = no_information_records(message, query, load_dialect("generic"), NOW)
    assert [r[:1] for r in plain] == [b"H", b"L"]
    assert plain[-1] == b"L|1|I"
    echoed = no_information_records(message, query, load_dialect("siemens-centaur"), NOW)
    assert echoed[1] == b"Q|1|^129903||^^^ALL||||||||O"
    no_order = load_dialect("generic").model_copy(update={"no_information": "no-order"})
    records = no_information_records(message, query, no_order, NOW)
    assert [r[:1] for r in records] == [b"H", b"P", b"O", b"L"]
    assert records[2].split(b"|")[25] == b"Y"


def test_orders_for_other_specimens_only_give_no_information() -> None:
    message = parse_records(ARCHITECT_QUERY)
    dialect = load_dialect("abbott-architect")
    query = host_query(message, dialect)
    assert query is not None
    records = order_records(message, query, [Order(specimen_id="999", tests=["TSH"])], dialect, NOW)
    assert records[-1] == b"L|1|I"


def test_a_message_without_queries_asks_nothing() -> None:
    message = parse_records(b"H|\\^&\rP|1\rO|1|S1||^^^GLU\rR|1|^^^GLU|5.1|mmol/L\rL|1|N\r")
    assert host_query(message, load_dialect("generic")) is None
