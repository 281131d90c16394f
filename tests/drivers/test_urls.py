"""Connection URLs: the forms the inventory accepts, and what a bad one is told."""

from __future__ import annotations

import re

import pytest

from drivers.urls import (
    ListenConnection,
    SerialConnection,
    TcpConnection,
    parse_connection_url,
)

BY_ID = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"


def test_serial_defaults_to_9600_8n1():
    assert parse_connection_url("serial:///dev/ttyUSB0") == SerialConnection(
        port="/dev/ttyUSB0", baudrate=9600, parity="N", bytesize=8, stopbits=1.0
    )


def test_serial_by_id_path_with_line_settings():
    spec = parse_connection_url(f"serial://{BY_ID}?baudrate=19200&parity=e&bytesize=7&stopbits=1.5")
    assert spec == SerialConnection(
        port=BY_ID, baudrate=19200, parity="E", bytesize=7, stopbits=1.5
    )


def test_serial_pyserial_url_keeps_its_own_options():
    spec = parse_connection_url("serial://socket://10.0.4.7:4001?timeout=3&baudrate=2400")
    assert spec == SerialConnection(
        port="socket://10.0.4.7:4001?timeout=3", baudrate=2400, parity="N", bytesize=8, stopbits=1.0
    )


def test_tcp_and_listen():
    assert parse_connection_url("tcp://127.0.0.1:7001") == TcpConnection("127.0.0.1", 7001)
    assert parse_connection_url("listen://0.0.0.0:6661") == ListenConnection("0.0.0.0", 6661)
    assert parse_connection_url("TCP://[::1]:7001") == TcpConnection("::1", 7001)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial://dev/ttyUSB0", "needs an absolute device path, e.g. serial:///dev/ttyUSB0"),
        (
            "serial:///dev/ttyUSB0?baud=9600",
            "unknown serial setting baud; allowed: baudrate, parity",
        ),
        ("serial:///dev/ttyUSB0?baudrate=fast", "has baudrate='fast'; allowed: an integer from 50"),
        ("serial:///dev/ttyUSB0?parity=X", "has parity='X'; allowed: N, E, O, M, S"),
        ("serial:///dev/ttyUSB0?bytesize=9", "has bytesize='9'; allowed: 5, 6, 7, 8"),
        ("serial:///dev/ttyUSB0?stopbits=3", "has stopbits='3'; allowed: 1, 1.5, 2"),
        ("tcp://10.0.4.21", "needs a port from 1 to 65535; expected tcp://host:port"),
        ("tcp://10.0.4.21:70000", "needs a port from 1 to 65535"),
        ("listen://:6661", "needs a host; expected listen://host:port"),
        ("tcp://10.0.4.21:7001/path", "has a path or query; expected tcp://host:port"),
        ("tcp://user:secret@10.0.4.21:7001", "carries credentials"),
        ("/dev/ttyUSB0", "has no scheme; expected one of serial://, tcp://, listen://"),
        ("ftp://host:21", "has unknown scheme ftp://; allowed: serial://, tcp://, listen://"),
        ("modbus+tcp://10.0.4.21:502?unit=1", "uses modbus+tcp://, which is not supported yet"),
        ("pcsc://reader-0", "uses pcsc://, which is not supported yet; allowed: serial://"),
    ],
)
def test_bad_urls_say_what_is_allowed(url, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_connection_url(url)
