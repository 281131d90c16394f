from __future__ import annotations

import re

import pytest

from drivers import registry
from drivers.base import InvalidUrlError
from drivers.serial import SerialSettings


@pytest.mark.parametrize(
    ("url", "port", "settings"),
    [
        ("serial:///dev/ttyUSB0", "/dev/ttyUSB0", SerialSettings()),
        (
            "serial:///dev/serial/by-id/usb-FTDI_XN550-if00?baudrate=19200&parity=e&bytesize=7",
            "/dev/serial/by-id/usb-FTDI_XN550-if00",
            SerialSettings(baudrate=19200, parity="E", bytesize=7),
        ),
        (
            "serial:///dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0?stopbits=1.5",
            "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0",
            SerialSettings(stopbits=1.5),
        ),
        ("serial://socket://10.0.4.7:4001", "socket://10.0.4.7:4001", SerialSettings()),
        (
            "serial://rfc2217://10.0.4.7:4001?ign_set_control=&baudrate=38400",
            "rfc2217://10.0.4.7:4001?ign_set_control=",
            SerialSettings(baudrate=38400),
        ),
    ],
)
def test_serial_urls_split_into_port_and_line_settings(
    url: str, port: str, settings: SerialSettings
) -> None:
    assert registry.parse_serial_url(url) == (port, settings)


@pytest.mark.parametrize(
    "url",
    [
        "serial://",
        "serial:///dev/ttyUSB0?baud=9600",
        "serial:///dev/ttyUSB0?baudrate=fast",
        "serial:///dev/ttyUSB0?parity=X",
        "serial:///dev/ttyUSB0?bytesize=9",
    ],
)
def test_bad_serial_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        registry.parse_serial_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [("tcp://10.0.4.21:7001", ("10.0.4.21", 7001)), ("listen://[::1]:6661", ("::1", 6661))],
)
def test_host_and_port(url: str, expected: tuple[str, int]) -> None:
    assert registry.parse_host_port(url) == expected


@pytest.mark.parametrize("url", ["tcp://10.0.4.21", "tcp://:7001", "tcp://host:99999"])
def test_bad_host_port_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        registry.parse_host_port(url)


def test_roles_by_scheme() -> None:
    assert registry.accepts_connections("listen://0.0.0.0:7001")
    assert not registry.accepts_connections("TCP://10.0.0.1:7001")
    with pytest.raises(InvalidUrlError, match="no scheme"):
        registry.accepts_connections("/dev/ttyUSB0")


async def test_unknown_or_misplaced_schemes_name_the_allowed_ones() -> None:
    with pytest.raises(InvalidUrlError, match=r"allowed: serial://, tcp://, listen://"):
        await registry.open_stream("hid://scanner")
    with pytest.raises(InvalidUrlError):
        await registry.open_stream("listen://0.0.0.0:7001")
    with pytest.raises(InvalidUrlError):
        registry.open_listener("tcp://10.0.0.1:7001")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial:///dev/ttyUSB0?baudrate=96000", "has baudrate='96000'; allowed: an integer"),
        ("tcp://10.0.4.21:7001/path", "has a path or query; expected tcp://host:port"),
        ("modbus+rtu:///dev/ttyUSB0?unit=3", "uses modbus+rtu://, which is not supported yet"),
    ],
)
async def test_what_config_check_refuses_is_never_opened(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=re.escape(f"{url!r} {message}")):
        await registry.open_stream(url)
