from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.canonical.codes import PatientRef
from adapters.scanners.decode import decode_scan
from adapters.scanners.errors import ScanDecodeError
from adapters.scanners.kind import ScannerOptions

GS = "\x1d"
# Synthetic people only (shapes from /work/shared/corpus, values invented).
CCCD = "001190012345||Nguyễn Thị An|05031992|Nữ|Số 7 Đường Thử Nghiệm, Phường Mẫu, Hà Nội|12082022"
BHYT_NEW = (
    "0123456789|4e677579e1bb856e2056c4836e2041|01/01/1990|1|-|01 - 001|01/01/2024|-|15/01/2024"
    "|01010123456789|-|4| 01/01/2029|0a1b2c3d4e5f6789-1234|4"
    "|5175e1baad6e20426120c490c3ac6e682c205468c3a06e68207068e1bb912048c3a0204ee1bb9969|$"
)
BHYT_OLD_SHORT = (
    "HS4010123456789|5472e1baa76e205468e1bb8b2042|07/09/2008|2|5068c6b0e1bb9d6e6720582c205175e1baad6e"
    "20592c205468c3a06e68207068e1bb912048c3a0204ee1bb9969|01 - 028|01/01/2019|-|01/01/2019|$"
)


def test_cccd_qr_gives_the_person_with_diacritics_intact() -> None:
    event = decode_scan(CCCD.encode("utf-8"), "utf-8")
    assert event.symbology == "cccd-qr"
    assert event.person == PatientRef(
        national_id="001190012345", name="Nguyễn Thị An", birth_date="1992-03-05", sex="female"
    )
    assert event.fields == {
        "address": "Số 7 Đường Thử Nghiệm, Phường Mẫu, Hà Nội",
        "issue_date": "2022-08-12",
    }
    assert event.data == CCCD


@pytest.mark.parametrize(
    "text",
    [
        "001190012345|012345678|Nguyễn Thị An|05/03/1992|Nữ|Hà Nội|12/08/2022",
        "001190012345|Nguyễn Thị An|05031992|Nữ|Hà Nội|12082022",
        "CCCD:001190012345|CMND:|Họ tên:Nguyễn Thị An|Ngày sinh:05/03/1992|Giới tính:Nữ"
        "|Địa chỉ:Hà Nội|Ngày cấp:12/08/2022",
        "]Q1" + CCCD,
    ],
    ids=["slash-dates", "six-field-legacy", "labelled", "aim-qr"],
)
def test_cccd_variants_decode_to_the_same_person(text: str) -> None:
    person = decode_scan(text.encode()).person
    assert person is not None
    assert (person.national_id, person.name, person.birth_date) == (
        "001190012345",
        "Nguyễn Thị An",
        "1992-03-05",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("001234567890|012345678|Nguyễn Văn A|32131990|Nam|Hà Nội|01012021", "cccd-qr-bad-date"),
        ("00123456789|012345678|Nguyễn Văn A|01011990|Nam|Hà Nội|01012021", "cccd-qr-bad-id"),
        ("001234567890|012345678|Nguyễn Văn A|01011990|Nam|Hà Nội", "cccd-qr-bad-sex"),
        ("001234567890||Nguyá»…n VÄƒn A|01011990|Nam|Hà Nội|01012021", "cccd-qr-mojibake"),
        (
            "0123456789|4e677579e1bb856|01/01/1990|1|-|01 - 001|01/01/2024|-|15/01/2024",
            "bhyt-qr-no-terminator",
        ),
        (
            "0123456789|4e677579e1bb856|01/01/1990|1|-|01 - 001|01/01/2024|-|15/01/2024|$",
            "bhyt-qr-bad-hex",
        ),
        ("]d2", "gs1-empty"),
        ("]d20112345678901234", "gs1-bad-check-digit"),
        ("]d2011231231231233317271340", "gs1-bad-date"),
    ],
)
def test_malformed_known_formats_fail_with_a_reason_free_of_content(text: str, reason: str) -> None:
    with pytest.raises(ScanDecodeError) as caught:
        decode_scan(text.encode())
    assert caught.value.reason == reason
    assert "Nguy" not in str(caught.value)


def test_bhyt_new_card_decodes_hex_name_and_keeps_the_rest_in_fields() -> None:
    event = decode_scan(BHYT_NEW.encode())
    assert event.symbology == "bhyt-qr"
    assert event.person == PatientRef(name="Nguyễn Văn A", birth_date="1990-01-01", sex="male")
    assert event.fields["card_number"] == "0123456789"
    assert event.fields["issuer"] == "Quận Ba Đình, Thành phố Hà Nội"
    assert event.fields["five_years_from"] == "2029-01-01"
    assert "valid_to" not in event.fields  # "-" means empty


def test_bhyt_old_short_card_decodes_address() -> None:
    event = decode_scan(BHYT_OLD_SHORT.encode())
    assert event.person == PatientRef(name="Trần Thị B", birth_date="2008-09-07", sex="female")
    assert event.fields["card_number"] == "HS4010123456789"
    assert event.fields["address"] == "Phường X, Quận Y, Thành phố Hà Nội"


@pytest.mark.parametrize(
    "text",
    [
        f"]d20108935123456781172712311023A45{GS}21SN000123",
        f"]C10108935123456781172712311023A45{GS}21SN000123",
        f"]Q30108935123456781172712311023A45{GS}21SN000123",
        f"0108935123456781172712311023A45{GS}21SN000123",
        "]d20108935123456781172712311023A45<GS>21SN000123",
        "(01)08935123456781(17)271231(10)23A45(21)SN000123",
    ],
)
def test_gs1_element_strings_give_gtin_expiry_lot_serial(text: str) -> None:
    event = decode_scan(text.encode())
    assert event.symbology == "gs1"
    assert event.person is None
    assert {k: v for k, v in event.fields.items() if k != "aim_id"} == {
        "gtin": "08935123456781",
        "expiry": "2027-12-31",
        "lot": "23A45",
        "serial": "SN000123",
    }


def test_gs1_expiry_day_00_means_last_day_of_month() -> None:
    assert decode_scan(b"]d20108935123456781172402001023A45").fields["expiry"] == "2024-02-29"


@pytest.mark.parametrize(
    ("scan", "symbology", "data"),
    [
        (b"]C0SP2611220001", "code128", "SP2611220001"),
        (b"SP2611220001", None, "SP2611220001"),
        (b"  2506150042\t", None, "2506150042"),
        (
            b"]Q1https://example.com/01/12312312312333?99=TEST",
            "qr",
            "https://example.com/01/12312312312333?99=TEST",
        ),
        (b"]XX", None, "]XX"),
        (
            b"0108935123456781172712311023A45|21SN000123",
            None,
            "0108935123456781172712311023A45|21SN000123",
        ),
    ],
)
def test_other_scans_are_plain_barcodes(scan: bytes, symbology: str | None, data: str) -> None:
    event = decode_scan(scan)
    assert (event.symbology, event.data, event.person) == (symbology, data, None)


def test_text_is_decoded_with_the_device_encoding() -> None:
    event = decode_scan(CCCD.encode("utf-16-le"), "utf-16-le")
    assert event.person is not None
    assert event.person.name == "Nguyễn Thị An"


def test_bytes_that_are_not_text_in_the_encoding_are_refused() -> None:
    with pytest.raises(ScanDecodeError, match="undecodable"):
        decode_scan(b"\xff\xfe\x81garbage", "utf-8")


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_fail_with_scan_decode_error(scan: bytes) -> None:
    with contextlib.suppress(ScanDecodeError):
        decode_scan(scan)


@given(st.lists(st.text(max_size=20), min_size=5, max_size=18))
def test_any_pipe_separated_text_decodes_or_fails_with_scan_decode_error(parts: list[str]) -> None:
    with contextlib.suppress(ScanDecodeError):
        decode_scan("|".join(parts).encode())


def test_scanner_options_defaults_and_forbid_unknown_keys() -> None:
    assert ScannerOptions().model_dump() == {
        "terminator": "any",
        "max_length": 4096,
        "idle_timeout_s": 3600.0,
        "max_connections": 16,
    }
    with pytest.raises(ValidationError):
        ScannerOptions.model_validate({"terminator": "tab"})
    with pytest.raises(ValidationError):
        ScannerOptions.model_validate({"suffix": "cr"})
