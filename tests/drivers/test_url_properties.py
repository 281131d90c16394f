"""The one URL parser under random and hostile input, and the schemes' declared rules."""

from __future__ import annotations

import contextlib
import string
from typing import get_args
from urllib.parse import quote

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import InvalidUrlError
from drivers.url_forms import STANDARD_BAUDRATES, ByteSize, Claim, Parity
from drivers.urls import (
    PLANNED_SCHEMES,
    SCHEMES,
    SUPPORTED_SCHEMES,
    Capability,
    ListenConnection,
    PortUse,
    SerialConnection,
    Sharing,
    TcpConnection,
    UdpConnection,
    capability_of,
    may_share,
    parse_connection_url,
)

SCHEME_PREFIXES = st.sampled_from([f"{name}://" for name in SCHEMES] + ["", "SERIAL://", "x://"])


@given(prefix=SCHEME_PREFIXES, rest=st.text(max_size=80))
def test_any_text_parses_or_raises_only_invalid_url_error(prefix: str, rest: str) -> None:
    try:
        spec = parse_connection_url(prefix + rest)
    except InvalidUrlError as exc:
        refusal = str(exc)
        assert "allowed" in refusal or "expected" in refusal or "needs" in refusal
    else:
        assert spec.scheme in SUPPORTED_SCHEMES


@given(
    prefix=st.sampled_from(["serial:///dev/ttyUSB0?", "serial://socket://10.0.4.7:4001?"]),
    query=st.lists(
        st.tuples(
            st.sampled_from(["baudrate", "parity", "bytesize", "stopbits", "timeout"]),
            st.text(max_size=12),
        ),
        max_size=4,
    ),
)
def test_serial_query_settings_parse_or_raise_only_invalid_url_error(
    prefix: str, query: list[tuple[str, str]]
) -> None:
    url = prefix + "&".join(f"{key}={quote(value)}" for key, value in query)
    with contextlib.suppress(InvalidUrlError):
        parse_connection_url(url)


DEVICE_PATHS = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "_-.:", min_size=1),
    min_size=1,
    max_size=4,
).map(lambda parts: "/" + "/".join(parts))


@given(
    port=DEVICE_PATHS,
    baudrate=st.sampled_from(STANDARD_BAUDRATES),
    parity=st.sampled_from(get_args(Parity)),
    bytesize=st.sampled_from(get_args(ByteSize)),
    stopbits=st.sampled_from([("1", 1.0), ("1.5", 1.5), ("2", 2.0)]),
)
def test_serial_specs_round_trip(
    port: str, baudrate: int, parity: Parity, bytesize: ByteSize, stopbits: tuple[str, float]
) -> None:
    url = (
        f"serial://{quote(port)}?baudrate={baudrate}&parity={parity.lower()}"
        f"&bytesize={bytesize}&stopbits={stopbits[0]}"
    )
    assert parse_connection_url(url) == SerialConnection(
        port, baudrate, parity, bytesize, stopbits[1]
    )


HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True),
)


@given(
    spec_type=st.sampled_from([TcpConnection, ListenConnection, UdpConnection]),
    host=HOSTS,
    port=st.integers(1, 65535),
)
def test_host_port_specs_round_trip(
    spec_type: type[TcpConnection | ListenConnection | UdpConnection], host: str, port: int
) -> None:
    written = f"[{host}]" if ":" in host else host
    spec = parse_connection_url(f"{spec_type.scheme}://{written}:{port}")
    assert spec == spec_type(host, port)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://[::1:7001", "is not a valid URL; expected tcp://host:port"),
        ("serial:///dev/ttyUSB0?baudrate=\u0669\u0666\u0660\u0660", "has baudrate="),
        ("tcp://10.0.4.21:\u0667\u0660\u0660\u0661", "needs a port from 1 to 65535"),
        ("serial:///dev/ttyUSB0?baudrate=" + "9" * 5000, "has baudrate='9{23}…'; allowed"),
        ("listen://0.0.0.0:-1", "needs a port from 0 to 65535"),
        ("serial:///dev/ttyUSB0%0A2026-12-02 ERROR forged", "has a control character"),
    ],
)
def test_hostile_urls_are_refused_with_the_reason(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        parse_connection_url(url)


def test_every_scheme_declares_a_capability_and_a_sharing_rule() -> None:
    assert {name: (row.capability, row.sharing) for name, row in SCHEMES.items()} == {
        "serial": (Capability.BYTE_STREAM, Sharing.ONE_DEVICE),
        "tcp": (Capability.BYTE_STREAM, Sharing.NOTHING_HELD),
        "listen": (Capability.BYTE_STREAM, Sharing.ONE_DEVICE),
        "udp": (Capability.DATAGRAM, Sharing.NOTHING_HELD),
        "modbus+tcp": (Capability.REGISTER_ACCESS, Sharing.NOTHING_HELD),
        "modbus+rtu": (Capability.REGISTER_ACCESS, Sharing.BUS),
        "hid": (Capability.INPUT_EVENTS, Sharing.ONE_DEVICE),
        "pcsc": (Capability.APDU_EXCHANGE, Sharing.ONE_DEVICE),
    }
    assert SUPPORTED_SCHEMES == ("serial", "tcp", "listen", "udp")
    assert PLANNED_SCHEMES == ("modbus+tcp", "modbus+rtu", "hid", "pcsc")


def test_capability_is_known_before_a_planned_scheme_parses() -> None:
    assert capability_of("UDP://10.13.37.2:24105") is Capability.DATAGRAM
    assert capability_of("pcsc://reader-0") is Capability.APDU_EXCHANGE
    with pytest.raises(InvalidUrlError, match="has unknown scheme ftp://"):
        capability_of("ftp://host:21")


def test_a_bus_serves_each_unit_address_once() -> None:
    def use(scheme: str, unit: int | None) -> PortUse:
        claim = Claim("serial port", "/dev/ttyUSB0", "opens the serial port of", unit)
        return PortUse(claim, SCHEMES[scheme].sharing)

    assert may_share(use("modbus+rtu", 1), use("modbus+rtu", 2))
    assert not may_share(use("modbus+rtu", 1), use("modbus+rtu", 1))
    assert not may_share(use("modbus+rtu", 1), use("serial", None))
    assert not may_share(use("serial", None), use("serial", None))


def test_standard_baud_rates_include_every_rate_pyserial_names() -> None:
    assert set(serial.Serial.BAUDRATES) <= set(STANDARD_BAUDRATES)
    assert list(STANDARD_BAUDRATES) == sorted(STANDARD_BAUDRATES)


def test_two_spellings_of_one_serial_adapter_are_one_claim(tmp_path) -> None:
    adapter = tmp_path / "ttyUSB0"
    adapter.touch()
    (tmp_path / "usb-FTDI-if00").symlink_to(adapter)
    by_id = parse_connection_url(f"serial://{tmp_path}/usb-FTDI-if00")
    direct = parse_connection_url(f"serial://{adapter}?baudrate=19200")
    assert by_id.claim == direct.claim
