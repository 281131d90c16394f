"""`wardlink config check`: one line per problem naming file, key, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.check import check_config_file, load_settings
from gateway.config.errors import ConfigError
from gateway.config.inventory import Conflict, DeviceSettings, port_conflicts

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


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    assert check_config_file(path) == [f"{path}: path: file not found"]


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, '[gateway]\nsite = "bvcr\n')
    assert check_config_file(path) == [
        f"{path}: line 2, column 13: invalid TOML: Illegal character '\\n'"
    ]


def test_wrong_type(tmp_path):
    path = write(tmp_path, GATEWAY + '[mqtt]\ninflight_window = "many"\n')
    assert check_config_file(path) == [
        f"{path}: mqtt.inflight_window: 'many' should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_value_out_of_range_states_the_bounds(tmp_path):
    path = write(tmp_path, GATEWAY + "[mqtt]\nkeepalive_s = 7200\n")
    assert check_config_file(path) == [
        f"{path}: mqtt.keepalive_s: 7200 is out of range; allowed: >= 5 and <= 3600"
    ]


def test_value_not_among_choices(tmp_path):
    path = write(tmp_path, GATEWAY + '[store]\ndurability = "fast"\n')
    assert check_config_file(path) == [
        f"{path}: store.durability: 'fast' should be 'durable' or 'relaxed'"
    ]


def test_missing_key(tmp_path):
    path = write(tmp_path, '[gateway]\nsite = "bvcr"\nward = "icu-2"\n')
    assert check_config_file(path) == [f"{path}: gateway.id: is required"]


def test_bad_id_characters(tmp_path):
    path = write(tmp_path, GATEWAY.replace('"icu-2"', '"ICU 2"'))
    assert check_config_file(path) == [
        f"{path}: gateway.ward: 'ICU 2' is not a valid id; "
        "allowed: lowercase letters a-z, digits 0-9 and '-'"
    ]


def test_unknown_key_lists_allowed_keys_and_never_shows_its_value(tmp_path):
    path = write(tmp_path, GATEWAY + '[store]\nquota = 10\n[mqtt]\npasword = "s3cret"\n')
    lines = check_config_file(path)
    assert lines == [
        f"{path}: mqtt.pasword: is not an allowed key; did you mean 'password_file'? allowed: "
        "url, client_id, username, password_file, ca_file, cert_file, key_file, "
        "key_passphrase_file, topic_root, keepalive_s, protocol, inflight_window, end_to_end_ack, "
        "resend_unacked_after_s, reconnect_min_s, reconnect_max_s, readable_secret_files, "
        "stall_after_s, query_reply_key_file",
        f"{path}: store.quota: is not an allowed key; did you mean 'quota_mb'? allowed: "
        "path, durability, quota_mb, min_free_mb, retention_hours, max_batch, reject_budget_mb",
    ]
    assert "s3cret" not in "\n".join(lines)


def test_unsupported_config_version(tmp_path):
    path = write(tmp_path, GATEWAY.replace("config_version = 1", "config_version = 2"))
    assert check_config_file(path) == [f"{path}: config_version: 2 should be 1"]


def test_unknown_device_kind_lists_known_kinds(tmp_path):
    path = write(tmp_path, GATEWAY + device("fridge-1", "modbus-fridge", "tcp://10.0.4.2:502"))
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=fridge-1).kind: 'modbus-fridge' is not a known device kind; "
        "allowed: serial-scanner, hl7-analyzer, astm-analyzer, intellivue-monitor, hl7-monitor"
    ]


def test_unknown_dialect(tmp_path, scanner_kind):
    entry = device("scan-1", scanner_kind, "tcp://127.0.0.1:7001", 'dialect = "zebra-ds"\n')
    path = write(tmp_path, GATEWAY + entry)
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).dialect: 'zebra-ds' is not a dialect of kind "
        "'serial-scanner'; allowed: generic"
    ]


def test_bad_connection_url(tmp_path, scanner_kind):
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, "serial:///dev/ttyS0?parity=X"))
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).connection: 'serial:///dev/ttyS0?parity=X' "
        "has parity='X'; allowed: N, E, O, M, S"
    ]


def test_connection_scheme_not_allowed_for_kind(tmp_path, scanner_kind):
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, "modbus+tcp://10.0.4.21:502"))
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).connection: 'modbus+tcp://10.0.4.21:502' uses "
        "modbus+tcp://, which kind 'serial-scanner' cannot use; "
        "allowed: serial://, tcp://, listen://"
    ]


def test_unknown_encoding(tmp_path, scanner_kind):
    entry = device("scan-1", scanner_kind, "tcp://127.0.0.1:7001", 'encoding = "base64"\n')
    path = write(tmp_path, GATEWAY + entry)
    assert check_config_file(path) == [
        f"{path}: devices[0] (id=scan-1).encoding: 'base64' is not a text encoding Python knows; "
        "e.g. utf-8, cp1258, latin-1"
    ]


def test_options_are_checked_by_the_kinds_model(tmp_path, scanner_kind):
    entry = device(
        "scan-1", scanner_kind, "tcp://127.0.0.1:7001", "[devices.options]\nmax_lenght = 64\n"
    )
    path = write(tmp_path, GATEWAY + entry)
    (line,) = check_config_file(path)
    assert line.startswith(
        f"{path}: devices[0] (id=scan-1).options.max_lenght: is not an allowed key; "
        "did you mean 'max_length'? allowed: "
    )


def test_duplicate_device_id(tmp_path, scanner_kind):
    path = write(
        tmp_path,
        GATEWAY
        + device("scan-1", scanner_kind, "tcp://127.0.0.1:7001")
        + device("scan-1", scanner_kind, "tcp://127.0.0.1:7002"),
    )
    assert check_config_file(path) == [
        f"{path}: devices[1] (id=scan-1).id: 'scan-1' is already the id of devices[0]; "
        "ids must be unique"
    ]


def test_duplicate_id_is_found_even_when_the_entry_has_other_problems(tmp_path, scanner_kind):
    path = write(
        tmp_path,
        GATEWAY
        + device("scan-1", scanner_kind, "tcp://127.0.0.1:7001")
        + device("scan-1", scanner_kind, "tcp://127.0.0.1"),
    )
    assert len(check_config_file(path)) == 2


def test_two_enabled_devices_on_one_serial_port(tmp_path, scanner_kind):
    port = "serial:///dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    path = write(
        tmp_path,
        GATEWAY
        + device("scan-1", scanner_kind, port)
        + device("scan-2", scanner_kind, port + "?baudrate=19200")
        + device("scan-3", scanner_kind, port, "enabled = false\n"),
    )
    assert check_config_file(path) == [
        f"{path}: devices[1] (id=scan-2).connection: '{port}?baudrate=19200' opens the serial "
        "port of devices[0] (id=scan-1); one serial port serves one device"
    ]


def test_all_problems_are_collected(tmp_path, scanner_kind):
    path = write(
        tmp_path,
        GATEWAY
        + "[mqtt]\nkeepalive_s = 1\n"
        + device("bed-1", "philips-monitor", "listen://0.0.0.0:6661")
        + device("scan-1", scanner_kind, "tcp://127.0.0.1:7001", 'encoding = "klingon"\n'),
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert [problem.key_path for problem in caught.value.problems] == [
        "mqtt.keepalive_s",
        "devices[0] (id=bed-1).kind",
        "devices[1] (id=scan-1).encoding",
    ]
    assert check_config_file(path) == caught.value.lines()


def test_clean_file_has_no_lines(tmp_path, scanner_kind):
    path = write(tmp_path, GATEWAY + device("scan-1", scanner_kind, "tcp://127.0.0.1:7001"))
    assert check_config_file(path) == []
    (loaded,) = load_settings(path).devices
    assert (loaded.id, loaded.dialect, loaded.encoding, loaded.enabled) == (
        "scan-1",
        "generic",
        "utf-8",
        True,
    )


def test_one_listen_port_never_serves_two_kinds():
    # Two kinds on one listen port: built without validation to test the cross-entry check.
    first = DeviceSettings.model_construct(
        id="scan-1", kind="serial-scanner", connection="listen://0.0.0.0:6661", enabled=True
    )
    second = DeviceSettings.model_construct(
        id="bed-1", kind="hl7-monitor", connection="listen://127.0.0.1:6661", enabled=True
    )
    assert port_conflicts({0: first, 3: second}) == [
        Conflict(
            3,
            "connection",
            "listen://127.0.0.1:6661",
            "listens on port 6661 like devices[0] (id=scan-1) of kind 'serial-scanner'; "
            "one listen port serves one kind",
        )
    ]
