"""``wardlink sim``: an engineer runs the simulators through the gateway's own command."""

from __future__ import annotations

import socket
import subprocess
import threading

from tests.e2e.harness import PYTHON, _env
from tests.gateway.test_cli import wardlink
from tests.hardware_sim.broker import free_port, wait_for_port


def test_the_list_names_every_simulator_and_each_shows_its_own_options() -> None:
    listing = wardlink("sim", "--help")
    assert listing.returncode == 0
    for name in ("analyzer", "hl7-sender", "monitors", "intellivue", "scanner", "fault-proxy"):
        assert f"  {name}" in listing.stdout
    analyzer = wardlink("sim", "analyzer", "--help")
    assert analyzer.returncode == 0
    assert "--pty" in analyzer.stdout  # the analyzer simulator's own usage
    unknown = wardlink("sim", "oscilloscope")
    assert unknown.returncode == 2
    assert "invalid choice" in unknown.stderr


def test_the_fault_proxy_carries_bytes_with_the_latency_asked() -> None:
    upstream = socket.create_server(("127.0.0.1", 0))
    port = free_port()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.sendall(conn.recv(100).upper())

    def serve() -> None:  # every connection, the port probe's included
        while True:
            conn, _ = upstream.accept()
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    target = f"127.0.0.1:{upstream.getsockname()[1]}"
    sim = ["sim", "fault-proxy", "--listen", f"127.0.0.1:{port}", "--upstream", target]
    proxy = subprocess.Popen(
        [PYTHON, "-m", "gateway", *sim, "--latency-ms", "20"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        wait_for_port("127.0.0.1", port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"ping")
            assert client.recv(100) == b"PING"
    finally:
        proxy.terminate()
        proxy.communicate(timeout=20)
        upstream.close()
