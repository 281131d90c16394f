"""Secrets never shown: URL credentials masked in errors and logs; loose secret files caught."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.check import check_config_file
from gateway.config.credentials import RedactingFormatter, redact
from tests.e2e.harness import PYTHON, _env

GATEWAY = '[gateway]\nsite = "bvcr"\nward = "icu-2"\nid = "gw-1"\n'
PASSWORD = "Pr1v4te-Hunter2"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wardlink.toml"
    path.write_text(GATEWAY + text, encoding="utf-8")
    return path


def wardlink(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "gateway", *args],
        check=False,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


def test_a_password_in_the_url_is_refused_without_printing_it(tmp_path: Path) -> None:
    path = write(tmp_path, f'[mqtt]\nurl = "mqtts://gw:{PASSWORD}@broker.lan:8883"\n')
    lines = check_config_file(path)
    assert len(lines) == 1
    assert PASSWORD not in lines[0]
    assert "'mqtts://***@broker.lan:8883' carries credentials" in lines[0]


def test_a_password_in_the_url_from_the_environment_is_masked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDLINK_MQTT__URL", f"mqtt://gw:{PASSWORD}@broker.lan")
    lines = check_config_file(write(tmp_path, ""))
    assert len(lines) == 1
    assert "(from $WARDLINK_MQTT__URL)" in lines[0]
    assert PASSWORD not in lines[0]
    assert "mqtt://***@broker.lan" in lines[0]


def test_run_and_consume_never_print_the_password(tmp_path: Path) -> None:
    config = write(tmp_path, f'[mqtt]\nurl = "mqtt://gw:{PASSWORD}@broker.lan"\n')
    run = wardlink("run", "--config", str(config))
    assert run.returncode == 2
    consume = wardlink("consume", "--broker", f"mqtts://gw:{PASSWORD}@broker.lan")
    assert consume.returncode == 2
    for output in (run.stdout, run.stderr, consume.stdout, consume.stderr):
        assert PASSWORD not in output
    assert "mqtts://***@broker.lan" in consume.stderr


def test_log_lines_mask_url_credentials_even_in_tracebacks() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    try:
        raise ConnectionError(f"cannot reach mqtt://gw:{PASSWORD}@broker.lan:1883")
    except ConnectionError:
        record = logging.LogRecord(
            "wardlink", logging.ERROR, __file__, 1, "broker %s", ("mqtt://a:b@h",), None
        )
        record.exc_info = __import__("sys").exc_info()
    line = formatter.format(record)
    assert PASSWORD not in line
    assert ":b@" not in line
    assert "mqtt://***@broker.lan:1883" in line


@given(
    scheme=st.sampled_from(["mqtt", "mqtts", "http", "tcp", "postgresql+psycopg"]),
    user=st.text(st.characters(blacklist_characters="/?#", blacklist_categories=["Z", "C"])),
    password=st.text(
        st.characters(blacklist_characters="/?#", blacklist_categories=["Z", "C"]), min_size=1
    ),
    around=st.tuples(st.text(max_size=20), st.text(max_size=20)),
)
def test_redact_removes_any_userinfo(
    scheme: str, user: str, password: str, around: tuple[str, str]
) -> None:
    before, after = around
    url = f"{scheme}://{user}:{password}@host.lan:1883/x"
    shown = redact(f"{before} {url} {after}")
    assert f"{scheme}://***@host.lan:1883/x" in shown
    assert f"{user}:{password}@" not in shown


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604])
def test_a_secret_file_others_can_read_is_warned_about(tmp_path: Path, loose: int) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD)
    secret.chmod(loose)
    config = write(tmp_path, f'[mqtt]\npassword_file = "{secret}"\n')
    result = wardlink("config", "check", str(config))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{config}: warning: mqtt.password_file '{secret}' is accessible to group or others "
        f"(mode {loose:04o}); chmod 600 it",
        f"{config}: ok",
    ]
    assert PASSWORD not in result.stdout


def test_a_loose_secret_file_is_refused_when_the_setting_says_so(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD)
    secret.chmod(0o644)
    config = write(
        tmp_path, f'[mqtt]\npassword_file = "{secret}"\nreadable_secret_files = "refuse"\n'
    )
    result = wardlink("run", "--config", str(config))
    assert result.returncode == 2
    assert f"mqtt: password_file '{secret}' is accessible to group or others" in result.stderr
    assert "refusing to start" in result.stderr
    secret.chmod(0o600)
    assert check_config_file(config) == []
    assert wardlink("config", "check", str(config)).stdout.splitlines() == [f"{config}: ok"]
