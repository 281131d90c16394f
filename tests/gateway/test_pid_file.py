"""``gateway.pid`` beside the store, and ``wardlink reload``'s refusals that need no gateway."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli import build_parser
from gateway.pid_file import NoGatewayError, pid_file, pid_path, running_pid
from tests.e2e.harness import write_config


def test_the_file_names_this_process_while_held_and_is_removed_after(tmp_path: Path) -> None:
    store = tmp_path / "outbox.db"
    with pid_file(store):
        assert pid_path(store).read_text() == f"{os.getpid()}\n"
        assert stat.S_IMODE(pid_path(store).stat().st_mode) == 0o600
        assert running_pid(store) == os.getpid()
    assert not pid_path(store).exists()
    with pytest.raises(NoGatewayError, match="not found; is the gateway running"):
        running_pid(store)


def test_a_stale_file_is_named_as_such(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    pid_path(tmp_path / "outbox.db").write_text(f"{gone.pid}\n")
    with pytest.raises(NoGatewayError, match=f"process {gone.pid} is not running"):
        running_pid(tmp_path / "outbox.db")


@pytest.mark.parametrize("text", ["", "0", "1", "-5", "12ab", "9" * 30, "4194305"])
def test_a_file_without_a_process_id_is_named_as_such(tmp_path: Path, text: str) -> None:
    pid_path(tmp_path / "outbox.db").write_text(text)
    with pytest.raises(NoGatewayError, match="holds no process id; delete it"):
        running_pid(tmp_path / "outbox.db")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=64) | st.integers(min_value=-1, max_value=10**40).map(b"%d".__mod__))
def test_any_content_gives_a_live_pid_or_a_reason(tmp_path: Path, raw: bytes) -> None:
    pid_path(tmp_path / "outbox.db").write_bytes(raw)
    answer: int | str
    try:
        answer = running_pid(tmp_path / "outbox.db")
    except NoGatewayError as exc:
        answer = str(exc)
    if isinstance(answer, str):
        assert answer.startswith(str(pid_path(tmp_path / "outbox.db")))
    else:
        assert answer > 1
        os.kill(answer, 0)  # alive (or another user's: PermissionError would fail the test)


def reload(config: Path) -> int:
    """``wardlink reload --config CONFIG``, without main's process-wide logging setup."""
    args = build_parser().parse_args(["reload", "--config", str(config)])
    code: int = args.func(args)
    return code


def test_reload_without_a_running_gateway_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883")

    assert reload(config) == 1
    assert "not reloaded: " in capsys.readouterr().err


def test_reload_of_a_broken_file_signals_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883")
    config.write_text(config.read_text() + "[[devices]]\nid = 'Bad Id'\n")
    with pid_file(tmp_path / "outbox.db"):  # this process would get a SIGHUP and die
        assert reload(config) == 1
    err = capsys.readouterr().err
    assert "devices[1]" in err
    assert "not reloaded; the gateway keeps its configuration" in err
