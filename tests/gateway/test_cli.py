"""The ``wardlink`` command as an operator runs it: real processes, real files."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

from tests.e2e.harness import PYTHON, _env, write_config

GOOD_DEVICE = (
    '[[devices]]\nid = "s-1"\nkind = "serial-scanner"\nconnection = "tcp://127.0.0.1:7001"\n'
)


def wardlink(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "gateway", *args],
        check=False,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883", devices=GOOD_DEVICE)
    result = wardlink("config", "check", str(config))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{config}: ok"


def test_config_check_prints_one_line_per_problem(tmp_path: Path) -> None:
    devices = (
        GOOD_DEVICE
        + '[[devices]]\nid = "s-1"\nkind = "serial-scanner"\nconnection = "tcp://127.0.0.1:7002"\n'
        + '[[devices]]\nid = "a-1"\nkind = "astm-analyser"\nconnection = "tcp://127.0.0.1:7003"\n'
    )
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883", devices=devices)
    text = config.read_text().replace("[store]", '[store]\nquota_mb = "lots"')
    config.write_text(text)
    result = wardlink("config", "check", str(config))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"{config}: ") for line in lines)
    joined = "\n".join(lines)
    assert "store.quota_mb: 'lots'" in joined
    assert "devices[1] (id=s-1).id: 's-1' is already the id of devices[0]" in joined
    assert "'astm-analyser'" in joined
    assert "serial-scanner" in joined


def test_config_check_missing_file(tmp_path: Path) -> None:
    result = wardlink("config", "check", str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{tmp_path / 'nope.toml'}: ")
    assert result.stdout.strip().endswith("file not found")


def test_run_refuses_a_bad_file_the_same_way(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883")
    config.write_text(config.read_text().replace('id = "gw-1"', 'id = "GW 1"'))
    result = wardlink("run", "--config", str(config))
    assert result.returncode == 2
    assert "gateway.id: 'GW 1'" in result.stderr
    assert "refusing to start" in result.stderr
    assert not (tmp_path / "outbox.db").exists()


def test_outbox_stats_list_and_replay(tmp_path: Path) -> None:
    from edge_store import NewEntry, Outbox  # noqa: PLC0415

    store = tmp_path / "outbox.db"
    outbox = Outbox(store)
    rowids = outbox.append(
        [
            NewEntry(
                id=f"ID{i}", device="s-1", seq=i + 1, lane=1, topic="t/ident/s-1", payload=b"{}"
            )
            for i in range(3)
        ]
    )
    outbox.mark_sent(rowids[:2])
    outbox.close()

    stats = wardlink("outbox", "stats", "--store", str(store))
    assert stats.returncode == 0, stats.stderr
    assert '"sent": 2' in stats.stdout
    assert '"normal": 1' in stats.stdout
    listed = wardlink("outbox", "list", "--store", str(store), "--state", "sent")
    assert [line.split("\t")[1] for line in listed.stdout.splitlines()] == ["ID0", "ID1"]
    replay = wardlink("outbox", "replay", "--store", str(store), "--ids", "ID1")
    assert replay.stdout.strip() == "1 envelopes queued again for sending"
    pending = wardlink("outbox", "list", "--store", str(store), "--state", "pending")
    assert [line.split("\t")[1] for line in pending.stdout.splitlines()] == ["ID1", "ID2"]


def test_a_second_gateway_on_the_same_store_is_refused(tmp_path: Path) -> None:
    from edge_store import Outbox  # noqa: PLC0415

    config = write_config(tmp_path, "mqtt://127.0.0.1:9")
    first = Outbox(tmp_path / "outbox.db", owner=True)  # the running gateway
    try:
        result = wardlink("run", "--config", str(config))
    finally:
        first.close()
    assert result.returncode == 3
    assert "is a second gateway running" in result.stderr


def test_run_refuses_a_corrupt_store_with_the_fix(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:9")
    (tmp_path / "outbox.db").write_bytes(b"this is not a database, it is a bad sector" * 100)
    result = wardlink("run", "--config", str(config))
    assert result.returncode == 3
    assert str(tmp_path / "outbox.db") in result.stderr
    assert "move it aside" in result.stderr.lower() or "fresh" in result.stderr.lower()


def _http_port(config: Path) -> int:
    return int(config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0])


def test_run_with_the_http_port_taken_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:9", devices=GOOD_DEVICE)
    port = _http_port(config)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = wardlink("run", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "refusing to start" in line]
    assert errors == [
        f"{config}: http.listen: '127.0.0.1:{port}' cannot listen on 127.0.0.1:{port}: "
        "Address already in use; refusing to start"
    ]


def test_config_check_catches_a_device_on_the_http_port(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mqtt://127.0.0.1:1883", devices=GOOD_DEVICE)
    port = _http_port(config)
    config.write_text(
        config.read_text()
        + f'[[devices]]\nid = "s-2"\nkind = "serial-scanner"\nconnection = "listen://0.0.0.0:{port}"\n'
    )
    result = wardlink("config", "check", str(config))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{config}: devices[1] (id=s-2).connection: 'listen://0.0.0.0:{port}' listens on port "
        f"{port}, the port of http.listen (127.0.0.1:{port}); give the device or the control "
        "surface another port"
    ]


def test_unmapped_without_a_gateway_or_with_garbage_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nobody = wardlink("unmapped", "--url", f"http://127.0.0.1:{port}")
    assert nobody.returncode == 1
    assert len(nobody.stderr.splitlines()) == 1
    assert "cannot read the gateway's unmapped codes" in nobody.stderr

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def answer_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{not json")

        thread = threading.Thread(target=answer_garbage)
        thread.start()
        garbage = wardlink("unmapped", "--url", f"http://127.0.0.1:{server.getsockname()[1]}")
        thread.join(10)
    assert garbage.returncode == 1
    assert len(garbage.stderr.splitlines()) == 1
    assert "cannot read the gateway's unmapped codes" in garbage.stderr
