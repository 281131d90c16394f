"""Settings: file plus environment, secrets kept out of the file, defaults and helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.check import check_config_file, load_settings
from gateway.config.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
MINIMAL = """
[gateway]
site = "bvcr"
ward = "icu-2"
id = "gw-icu2-01"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wardlink.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_fill_everything_but_identity(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.config_version == 1
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.tls) == ("localhost", 1883, False)
    assert settings.mqtt.effective_client_id(settings.gateway.id) == "wardlink-gw-icu2-01"
    assert settings.mqtt.protocol == "auto"
    assert settings.mqtt.resolved_password() is None
    assert settings.store.path == Path("/var/lib/wardlink/outbox.db")
    assert settings.store.durability == "durable"
    assert settings.http.listen == "127.0.0.1:9108"
    assert settings.devices == []


def test_mqtts_defaults_to_port_8883(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL + '[mqtt]\nurl = "mqtts://broker.lan"\n'))
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.tls) == ("broker.lan", 8883, True)


def test_environment_beats_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL + '[mqtt]\nurl = "mqtt://file-broker:1883"\nkeepalive_s = 20\n')
    monkeypatch.setenv("WARDLINK_MQTT__URL", "mqtt://env-broker:1884")
    monkeypatch.setenv("WARDLINK_GATEWAY__WARD", "icu-3")
    settings = load_settings(path)
    assert (settings.mqtt.host, settings.mqtt.port) == ("env-broker", 1884)
    assert settings.mqtt.keepalive_s == 20  # keys the environment does not set keep the file's
    assert settings.gateway.ward == "icu-3"


def test_password_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WARDLINK_MQTT__PASSWORD", "s3cret")
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.mqtt.resolved_password() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_password_from_file(tmp_path):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    settings = load_settings(write(tmp_path, MINIMAL + f'[mqtt]\npassword_file = "{secret}"\n'))
    assert settings.mqtt.resolved_password() == "s3cret"


def test_password_in_clear_is_rejected_without_showing_it(tmp_path):
    path = write(tmp_path, MINIMAL + '[mqtt]\npassword = "s3cret"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.lines() == [
        f"{path}: mqtt.password: '***' is a secret and must not be written in the file; "
        "set WARDLINK_MQTT__PASSWORD in the environment or password_file to a file holding it"
    ]
    assert "s3cret" not in str(caught.value)


def test_password_from_both_places_is_ambiguous(tmp_path, monkeypatch):
    secret = tmp_path / "mqtt-password"
    secret.write_text("one", encoding="utf-8")
    monkeypatch.setenv("WARDLINK_MQTT__PASSWORD", "two")
    path = write(tmp_path, MINIMAL + f'[mqtt]\npassword_file = "{secret}"\n')
    assert check_config_file(path) == [
        f"{path}: mqtt: set WARDLINK_MQTT__PASSWORD or password_file, not both"
    ]


def test_bad_value_from_the_environment_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("WARDLINK_MQTT__KEEPALIVE_S", "1")
    path = write(tmp_path, MINIMAL)
    assert check_config_file(path) == [
        f"{path}: mqtt.keepalive_s (from $WARDLINK_MQTT__KEEPALIVE_S): '1' is out of range; "
        "allowed: >= 5 and <= 3600"
    ]


def test_mutual_tls_needs_cert_and_key_together(tmp_path):
    cert = tmp_path / "gw.pem"
    cert.write_text("x", encoding="utf-8")
    path = write(tmp_path, MINIMAL + f'[mqtt]\nurl = "mqtts://b:8883"\ncert_file = "{cert}"\n')
    assert check_config_file(path) == [
        f"{path}: mqtt: cert_file and key_file go together (mutual TLS needs both)"
    ]


def test_tls_files_must_exist(tmp_path):
    missing = tmp_path / "ca.pem"
    path = write(tmp_path, MINIMAL + f'[mqtt]\nurl = "mqtts://b:8883"\nca_file = "{missing}"\n')
    assert check_config_file(path) == [
        f"{path}: mqtt.ca_file: '{missing}' path does not point to a file"
    ]


def test_the_file_is_never_rewritten(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    monkeypatch.setenv("WARDLINK_MQTT__URL", "mqtt://env-broker:1884")
    load_settings(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_example_file_validates():
    pytest.importorskip("adapters.scanners.kind")
    settings = load_settings(REPO / "wardlink.example.toml")
    (device,) = settings.devices
    assert (device.kind, device.connection) == ("serial-scanner", "tcp://127.0.0.1:7001")
    assert settings.store.path == Path("./demo-data/outbox.db")


def test_a_query_reply_key_must_be_long_and_needs_mqtt_5(tmp_path: Path) -> None:
    from tests.e2e.harness import write_config  # noqa: PLC0415

    key = tmp_path / "reply.key"
    key.write_bytes(b"short\n")
    keyed = {"query_reply_key_file": str(key)}
    config = write_config(tmp_path / "a", "mqtt://127.0.0.1:1883", mqtt=keyed)
    with pytest.raises(ConfigError) as short:
        load_settings(config)
    assert "at least 32 bytes" in " ".join(short.value.lines())
    key.write_bytes(b"k" * 32 + b"\n")
    assert load_settings(config).mqtt.resolved_reply_key() == b"k" * 32
    v311 = write_config(
        tmp_path / "b", "mqtt://127.0.0.1:1883", mqtt={**keyed, "protocol": "3.1.1"}
    )
    with pytest.raises(ConfigError) as old:
        load_settings(v311)
    assert "needs MQTT 5" in " ".join(old.value.lines())
