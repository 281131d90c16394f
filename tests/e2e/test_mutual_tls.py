"""mqtts:// with mutual TLS against a Mosquitto that requires client certificates."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from adapters.canonical.events import Identification, IdentificationSource
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import async_wait_for, write_config
from tests.e2e.pki import make_pki
from tests.hardware_sim.broker import Mosquitto

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


async def test_gateway_delivers_over_mutual_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = Mosquitto(
        tmp_path / "broker",
        extra_conf=(
            f"cafile {pki['ca.crt']}\ncertfile {pki['server.crt']}\nkeyfile {pki['server.key']}\n"
            "require_certificate true\nuse_identity_as_username true\n"
        ),
    )
    broker.start()
    received: list[bytes] = []
    done = threading.Event()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        received.append(bytes(message.payload))
        done.set()

    central = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    central.tls_set(
        ca_certs=str(pki["ca.crt"]),
        certfile=str(pki["client.crt"]),
        keyfile=str(pki["client.key"]),
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )
    central.on_message = on_message
    central.connect(broker.host, broker.port)
    central.subscribe("wardlink/+/+/+/ident/+", qos=1)
    central.loop_start()
    settings = load_settings(
        write_config(
            tmp_path / "gw",
            f"mqtts://127.0.0.1:{broker.port}",
            mqtt={
                "ca_file": str(pki["ca.crt"]),
                "cert_file": str(pki["client.crt"]),
                "key_file": str(pki["client.key"]),
            },
        )
    )
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await async_wait_for(lambda: gateway.forwarder.connected, 20, "TLS connection")
        envelope_id = await gateway.pipeline.submit(
            "dev-1", Identification(source=IdentificationSource.BARCODE, data="SP-TLS")
        )
        await asyncio.to_thread(done.wait, 20)
    finally:
        gateway.stop()
        await running
        central.disconnect()
        central.loop_stop()
        broker.stop()
    assert len(received) == 1
    assert envelope_id.encode() in received[0]


async def test_gateway_without_a_client_certificate_is_refused_and_keeps_buffering(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = Mosquitto(
        tmp_path / "broker",
        extra_conf=(
            f"cafile {pki['ca.crt']}\ncertfile {pki['server.crt']}\nkeyfile {pki['server.key']}\n"
            "require_certificate true\n"
        ),
    )
    broker.start()
    settings = load_settings(
        write_config(
            tmp_path / "gw",
            f"mqtts://127.0.0.1:{broker.port}",
            mqtt={"ca_file": str(pki["ca.crt"])},
        )
    )
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await gateway.pipeline.submit(
            "dev-1", Identification(source=IdentificationSource.BARCODE, data="SP-NOCERT")
        )
        await asyncio.sleep(2)  # several reconnect attempts at the test's 0.1-1 s backoff
        assert not gateway.forwarder.connected
        stats = await gateway.outbox.stats()
        assert stats.pending == {1: 1}
    finally:
        gateway.stop()
        await running
        broker.stop()
