"""The reference consumer against a real broker: validates, verifies digests, dedupes, tallies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from adapters.canonical.events import Identification, IdentificationSource
from gateway.envelope import Envelope, UlidFactory, utc_now
from gateway.forwarding.mqtt_properties import PublishProperties
from tests.e2e.harness import ConsumerProcess, wait_for
from tests.hardware_sim.broker import Mosquitto

TOPIC = "wardlink/site/ward/gw/ident/scanner-1"


def good_envelope(seq: int) -> bytes:
    return Envelope(
        id=UlidFactory().new(),
        site="site",
        ward="ward",
        gateway_id="gw",
        device_id="scanner-1",
        device_kind="serial-scanner",
        seq=seq,
        received_at=utc_now(),
        payload=Identification(source=IdentificationSource.BARCODE, data=f"SP{seq}"),
    ).to_json_bytes()


def test_consumer_keeps_good_envelopes_once_and_counts_the_rest(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    first, third = good_envelope(1), good_envelope(3)
    tampered = good_envelope(4)
    messages = [
        (first, hashlib.sha256(first).hexdigest()),
        (first, hashlib.sha256(first).hexdigest()),  # a re-send: counted, written once
        (b"{not json", None),
        (json.dumps({"schema": "wardlink.envelope", "id": "x"}).encode(), None),
        (tampered, hashlib.sha256(b"something else").hexdigest()),
        (third, None),  # MQTT 3.1.1 publishers cannot attach the digest
    ]
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect(mosquitto.host, mosquitto.port)
        publisher.loop_start()
        for payload, digest in messages:
            props = PublishProperties(digest) if digest else None
            publisher.publish(TOPIC, payload, qos=1, properties=props).wait_for_publish(10)  # type: ignore[arg-type]
        publisher.disconnect()
        publisher.loop_stop()
        wait_for(lambda: len(consumer.ids()) == 2, 20, "good envelopes written")
        summary = consumer.stop()
    assert consumer.out.read_bytes().splitlines() == [first, third]  # bytes as they arrived
    assert summary["received"] == 6
    assert summary["unique"] == 2
    assert summary["duplicates"] == 1
    assert summary["invalid"] == 2
    assert summary["digest_mismatches"] == 1
    assert summary["digests_verified"] == 2
    assert summary["sequence_gaps"] == {"gw/scanner-1": 1}


def test_a_restarted_consumer_does_not_write_an_id_twice(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    envelope, later = good_envelope(1), good_envelope(2)

    def publish(*payloads: bytes) -> None:
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect(mosquitto.host, mosquitto.port)
        publisher.loop_start()
        for payload in payloads:
            publisher.publish(TOPIC, payload, qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()

    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        publish(envelope)
        wait_for(lambda: len(consumer.ids()) == 1, 20, "first delivery")
        consumer.stop()
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:  # same output file
        publish(envelope, later)  # in order on one session: `later` lands after the re-send
        wait_for(lambda: len(consumer.ids()) == 2, 20, "later envelope written")
        summary = consumer.stop()
    assert summary["duplicates"] == 1
    assert consumer.out.read_bytes().splitlines() == [envelope, later]


def test_a_deeply_nested_message_is_counted_invalid_and_consuming_goes_on(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    poison = b'{"payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    good = good_envelope(1)
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect(mosquitto.host, mosquitto.port)
        publisher.loop_start()
        for payload in (poison, good):
            publisher.publish(TOPIC, payload, qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
        wait_for(lambda: len(consumer.ids()) == 1, 20, "the good envelope after the poison")
        summary = consumer.stop()
    assert summary["invalid"] == 1
    assert summary["unique"] == 1
