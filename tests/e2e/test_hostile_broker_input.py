"""Hostile broker input (issue 11, defect 1): a poisoned retained ack must not stop delivery.

A retained message on the gateway's ``ack`` topic holding ``{"ids":`` + 100,000 ``[`` made the
forwarder raise ``RecursionError``; its restart then hung and nothing was published again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from adapters.canonical.events import Identification, IdentificationSource
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, async_wait_for, http_get, metric_value, write_config
from tests.hardware_sim.broker import Mosquitto

DEPTH = 100_000
POISON = b'{"ids":' + b"[" * DEPTH + b"]" * DEPTH + b"}"


def publish_retained(broker: Mosquitto, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hostile", protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_a_deeply_nested_retained_ack_is_dropped_and_delivery_goes_on(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = write_config(tmp_path / "gw", mosquitto.url, mqtt={"end_to_end_ack": True})
    settings = load_settings(config)
    port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    await asyncio.to_thread(publish_retained, mosquitto, gateway.topics.ack, POISON)
    consumer = await asyncio.to_thread(
        ConsumerProcess(tmp_path, mosquitto.url, client_id="acking", ack=True).start
    )
    running = asyncio.create_task(gateway.run())
    try:

        async def metrics() -> str:
            try:
                return (await asyncio.to_thread(http_get, port, "/metrics"))[1]
            except OSError:  # the control surface is not listening yet
                return ""

        rejected = 'reason="too_deep",topic_kind="ack"'
        for _ in range(300):
            if metric_value(await metrics(), "wardlink_broker_input_rejected_total", rejected):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the poisoned ack was never counted as rejected")

        # Delivery and end-to-end acks go on after the poison, on the same gateway process.
        ids = [
            await gateway.pipeline.submit(
                "dev-1", Identification(source=IdentificationSource.BARCODE, data=f"SP{i}")
            )
            for i in range(10)
        ]
        await async_wait_for(lambda: set(ids) <= set(consumer.ids()), 30, "delivery")
        for _ in range(300):
            if metric_value(await metrics(), "wardlink_forward_acknowledged_total") >= 10:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the consumer's acks were never recorded after the poison")
        status, _ = await asyncio.to_thread(http_get, port, "/healthz")
        assert status == 200
    finally:
        gateway.stop()
        # SIGTERM's path: the gateway stops in bounded time even after hostile input.
        await asyncio.wait_for(running, 60)
        consumer.stop()
