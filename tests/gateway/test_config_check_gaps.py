"""Config mistakes a new user made that `wardlink config check` once let through (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.check import check_config_file

GATEWAY = """config_version = 1
[gateway]
site = "bvcr"
ward = "icu-2"
id = "gw-icu2-01"
"""


@pytest.fixture
def scanner_kind() -> str:
    """A registered kind whose options model imports, so device entries can validate cleanly."""
    pytest.importorskip("adapters.scanners.kind")
    return "serial-scanner"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wardlink.toml"
    path.write_text(text, encoding="utf-8")
    return path


def device(device_id: str, kind: str, connection: str, extra: str = "") -> str:
    return (
        f'\n[[devices]]\nid = "{device_id}"\nkind = "{kind}"\nconnection = "{connection}"\n{extra}'
    )


def test_one_listen_port_never_serves_two_devices_of_one_kind(tmp_path, scanner_kind):
    path = write(
        tmp_path,
        GATEWAY
        + device("scan-1", scanner_kind, "listen://0.0.0.0:7001")
        + device("scan-2", scanner_kind, "listen://127.0.0.1:7001")
        + device("scan-3", scanner_kind, "listen://0.0.0.0:7001", "enabled = false\n"),
    )
    assert check_config_file(path) == [
        f"{path}: devices[1] (id=scan-2).connection: 'listen://127.0.0.1:7001' listens on port "
        "7001 like devices[0] (id=scan-1); one listen port serves one device"
    ]


def test_a_listen_port_picked_by_the_system_is_refused(tmp_path, scanner_kind):
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, "listen://0.0.0.0:0"))
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).connection: 'listen://0.0.0.0:0' needs a port from 1 "
        "to 65535; port 0 would be a random free port that no device can find"
    ]


@pytest.mark.parametrize(
    ("device_host", "http_listen"),
    [
        ("127.0.0.1", "127.0.0.1:9108"),
        ("0.0.0.0", "127.0.0.1:9108"),
        ("127.0.0.1", "0.0.0.0:9108"),
        ("localhost", "127.0.0.1:9108"),
        ("127.0.0.1", "localhost:9108"),
        ("LOCALHOST", "localhost:9108"),
        ("[::1]", "localhost:9108"),
        ("[::1]", "[::1]:9108"),
        ("[::1]", "::1:9108"),
        ("[::]", "[::1]:9108"),
        ("[0:0:0:0:0:0:0:1]", "[::1]:9108"),
        ("[::1]", "[::]:9108"),
        ("127.0.0.1", "*:9108"),
        ("ward-gw.local", "127.0.0.1:9108"),
    ],
)
def test_a_device_on_the_control_port_is_refused_in_every_spelling(
    tmp_path, scanner_kind, device_host, http_listen
):
    connection = f"listen://{device_host}:9108"
    path = write(
        tmp_path,
        GATEWAY
        + f'[http]\nlisten = "{http_listen}"\n'
        + device("scan-1", scanner_kind, connection),
    )
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).connection: '{connection}' listens on port 9108, the "
        f"port of http.listen ({http_listen}); give the device or the control surface another port"
    ]


@pytest.mark.parametrize(
    ("device_host", "http_listen"),
    [
        ("127.0.0.2", "127.0.0.1:9108"),
        ("0.0.0.0", "[::1]:9108"),
        ("[::1]", "0.0.0.0:9108"),
        ("127.0.0.1", "127.0.0.1:9109"),
    ],
)
def test_a_device_that_binds_apart_from_the_control_surface_is_fine(
    tmp_path, scanner_kind, device_host, http_listen
):
    # asyncio binds IPv6 sockets IPv6-only, so 0.0.0.0 and ::1 on one port both bind.
    path = write(
        tmp_path,
        GATEWAY
        + f'[http]\nlisten = "{http_listen}"\n'
        + device("scan-1", scanner_kind, f"listen://{device_host}:9108"),
    )
    assert check_config_file(path) == []


@pytest.mark.parametrize("written", ['"no"', '"false"', '"off"', '"yes"', '"true"', "0", "1"])
def test_enabled_must_be_a_toml_boolean(tmp_path, scanner_kind, written):
    entry = device("scan-1", scanner_kind, "tcp://127.0.0.1:7001", f"enabled = {written}\n")
    path = write(tmp_path, GATEWAY + entry)
    shown = written.replace('"', "'")
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).enabled: {shown} should be true or false, "
        "without quotes (a TOML boolean)"
    ]


def test_enabled_booleans_are_read_as_written(tmp_path, scanner_kind):
    entry = device("scan-1", scanner_kind, "tcp://127.0.0.1:7001", "enabled = false\n")
    assert check_config_file(write(tmp_path, GATEWAY + entry)) == []


@pytest.mark.parametrize("rate", ["96000", "11520", "9601", "4000001", "45"])
def test_a_baud_rate_outside_the_standard_set_is_refused(tmp_path, scanner_kind, rate):
    connection = f"serial:///dev/ttyUSB0?baudrate={rate}"
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, connection))
    (line,) = check_config_file(path)
    assert line.startswith(
        f"{path}: devices[0] (id=scan-1).connection: '{connection}' has baudrate='{rate}'; "
        "allowed: an integer from 50 to 4000000 that is a standard rate: 50, 75, 110, "
    )
    assert ", 9600, 14400, 19200, " in line
    assert line.endswith(", 3500000, 4000000")


@pytest.mark.parametrize("rate", ["50", "1200", "9600", "14400", "115200", "921600", "4000000"])
def test_a_standard_baud_rate_is_accepted(tmp_path, scanner_kind, rate):
    connection = f"serial:///dev/ttyUSB0?baudrate={rate}"
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, connection))
    assert check_config_file(path) == []
