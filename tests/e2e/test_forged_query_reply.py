"""Forged host-query replies never reach the analyzer (issue 11, defect 8).

On an open broker anyone can read an analyzer's query (its id included) and publish on
``query-reply/{device}``. A forger here answers every query it sees with a made-up patient and
test order: on another device's topic, with an id nobody asked, and on the right topic with the
right id but without the centre's signature. The analyzer must only ever see the centre's own
answer (signed by ``wardlink consume --reply-key``), or "no information".
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.forwarding.broker_input import SIGNATURE_PROPERTY, reply_signature
from tests.e2e.harness import ConsumerProcess, http_get, metric_value, write_config
from tests.e2e.test_astm_analyzer import astm_toml
from tests.hardware_sim.astm_analyzer import AnalyzerSimulator
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port

FORGED_NAME = "FORGED PATIENT"
FORGED_TEST = "HIV"
CENTRE_KEY = b"4f1c0a9e2b7d4c3a8e6f5b1d0c9a8e7f6b5d4c3a2e1f0b9d8c7a6e5f4d3c2b1a"


def forged(query_id: str, specimen_id: str) -> bytes:
    order = {
        "specimen_id": specimen_id,
        "tests": [FORGED_TEST],
        "priority": "S",
        "patient": {"id": "X-000", "name": FORGED_NAME},
    }
    return json.dumps({"query_id": query_id, "orders": [order]}).encode()


class Forger:
    """A client on the open broker that answers every query it reads, wrongly."""

    def __init__(
        self, broker: Mosquitto, *, right_topic: bool = True, wrong_key: bytes | None = None
    ) -> None:
        self.answered = threading.Event()
        self._right_topic = right_topic
        self._wrong_key = wrong_key
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="forger", protocol=mqtt.MQTTv5
        )
        self._client.on_message = self._on_query
        self._client.connect(broker.host, broker.port)
        self._client.subscribe("wardlink/+/+/+/query/+", qos=1)
        self._client.loop_start()

    def _on_query(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        query = json.loads(message.payload)["payload"]
        query_id, specimen = query["query_id"], query["specimen_ids"][0]
        base, _query, device = message.topic.rsplit("/", 2)
        mine = f"{base}/query-reply/{device}"
        client.publish(
            f"{base}/query-reply/analyzer-2", forged(query_id, specimen), qos=1
        )  # other device
        client.publish(
            mine, forged("01JDE0M4W9Y6F2H8K3N5P7Q1RT", specimen), qos=1
        )  # nobody asked this
        if self._right_topic:
            self._publish_right_id(client, mine, forged(query_id, specimen))
        self.answered.set()

    def _publish_right_id(self, client: mqtt.Client, mine: str, reply: bytes) -> None:
        properties = None
        if self._wrong_key is not None:
            properties = Properties(PacketTypes.PUBLISH)
            signature = reply_signature(self._wrong_key, mine, reply)
            properties.UserProperty = (SIGNATURE_PROPERTY, signature)
        client.publish(mine, reply, qos=1, properties=properties)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@asynccontextmanager
async def analyzer_gateway(
    tmp_path: Path, broker: Mosquitto, mqtt_keys: dict[str, Any]
) -> AsyncIterator[tuple[int, int]]:
    """The analyzer's port and the control surface's, of a gateway running with ``mqtt_keys``."""
    port = free_port()
    devices = astm_toml(f"listen://127.0.0.1:{port}", options="query_timeout_s = 3")
    config = write_config(tmp_path / "gw", broker.url, mqtt=mqtt_keys, devices=devices)
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        yield port, int(gateway.settings.http.listen.rsplit(":", 1)[1])
    finally:
        gateway.stop()
        await running


def records_of(messages: list[list[bytes]]) -> list[bytes]:
    return [record for message in messages for record in message]


async def until_rejected(http_port: int, reason: str, count: int) -> None:
    """Until ``count`` query replies were dropped for ``reason`` (read from /metrics)."""
    labels = f'reason="{reason}",topic_kind="query_reply"'
    for _ in range(200):
        _, body = await asyncio.to_thread(http_get, http_port, "/metrics")
        if metric_value(body, "wardlink_broker_input_rejected_total", labels) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {count} query replies dropped as {reason}")


async def test_a_reply_on_another_device_or_to_no_query_is_dropped(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    forger = await asyncio.to_thread(Forger, mosquitto, right_topic=False)
    try:
        async with analyzer_gateway(tmp_path, mosquitto, {}) as (device_port, http_port):
            analyzer = await AnalyzerSimulator.connect("127.0.0.1", device_port)
            reply = records_of(await analyzer.query(["2611230001"], timeout=20))
            await analyzer.close()
            assert forger.answered.is_set()
            await until_rejected(http_port, "wrong_device", 1)
            await until_rejected(http_port, "unexpected", 1)
    finally:
        await asyncio.to_thread(forger.close)
    assert reply[-1] == b"L|1|I"  # "no information": the analyzer runs nothing forged
    assert not any(FORGED_NAME.encode() in r or FORGED_TEST.encode() in r for r in reply)


async def test_with_a_centre_key_an_unsigned_reply_to_the_right_query_is_dropped(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    key_file = tmp_path / "reply.key"
    key_file.write_bytes(CENTRE_KEY + b"\n")
    forger = await asyncio.to_thread(Forger, mosquitto)
    try:
        async with analyzer_gateway(
            tmp_path, mosquitto, {"query_reply_key_file": str(key_file)}
        ) as (device_port, http_port):
            analyzer = await AnalyzerSimulator.connect("127.0.0.1", device_port)
            reply = records_of(await analyzer.query(["2611230001"], timeout=20))
            await analyzer.close()
            await until_rejected(http_port, "unsigned", 3)  # checked before anything else
    finally:
        await asyncio.to_thread(forger.close)
    assert reply[-1] == b"L|1|I"
    assert not any(FORGED_NAME.encode() in r or FORGED_TEST.encode() in r for r in reply)


async def test_only_the_centres_signed_answer_reaches_the_analyzer(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    key_file = tmp_path / "reply.key"
    key_file.write_bytes(CENTRE_KEY + b"\n")
    orders = tmp_path / "orders.csv"
    orders.write_text("specimen_id,tests,priority\n2611230001,GLU CREA,R\n", encoding="utf-8")
    centre = await asyncio.to_thread(
        ConsumerProcess(
            tmp_path, mosquitto.url, extra=("--orders", str(orders), "--reply-key", str(key_file))
        ).start
    )
    forger = await asyncio.to_thread(Forger, mosquitto, wrong_key=b"w" * 64)
    try:
        async with analyzer_gateway(
            tmp_path, mosquitto, {"query_reply_key_file": str(key_file)}
        ) as (device_port, http_port):
            analyzer = await AnalyzerSimulator.connect("127.0.0.1", device_port)
            reply = records_of(await analyzer.query(["2611230001"], timeout=20))
            await analyzer.close()
            await until_rejected(http_port, "bad_signature", 1)
    finally:
        await asyncio.to_thread(forger.close)
        centre.stop()
    assert [r[:1] for r in reply] == [b"H", b"P", b"O", b"L"]
    assert reply[2].split(b"|")[4] == b"^^^GLU\\^^^CREA"
    assert reply[-1] == b"L|1|F"
    assert not any(FORGED_NAME.encode() in r or FORGED_TEST.encode() in r for r in reply)
