"""Acceptance: an MQTT 5 PUBACK with reason >= 0x80 (ACL) is not delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import Outbox, State
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, http_get, metric_value, wait_for, write_config
from tests.hardware_sim.broker import Mosquitto

# Status topics are allowed; event topics (here .../ident/dev-1) are not.
ACL = """\
topic readwrite wardlink/+/+/+/status
topic readwrite wardlink/+/+/+/device/#
topic readwrite wardlink/+/+/+/ack
"""


async def test_acl_refusal_keeps_envelope_pending_and_counts_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Mosquitto(tmp_path / "broker", acl=ACL)
    broker.start()
    settings = load_settings(write_config(tmp_path / "gw", broker.url, mqtt={"protocol": "5"}))
    port = int(settings.http.listen.rsplit(":", 1)[1])
    gateway = Gateway(settings)
    running = asyncio.create_task(gateway.run())
    try:
        await gateway.pipeline.submit(
            "dev-1", Identification(source=IdentificationSource.BARCODE, data="SP1")
        )

        # The control surface runs in this event loop: poll it from a thread.
        for _ in range(300):
            _, body = await asyncio.to_thread(http_get, port, "/metrics")
            if metric_value(body, "wardlink_forward_refused_total", 'device="dev-1"') >= 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the broker's refusal was never counted")
        assert (
            metric_value(body, "wardlink_forward_messages_total", 'device="dev-1",kind="ident"')
            == 0
        )
    finally:
        gateway.stop()
        await running
        broker.stop()
    refusals = [r.getMessage() for r in caplog.records if "refused envelope" in r.getMessage()]
    assert len(refusals) == 1  # said once, with the reason
    assert "Not authorized (0x87)" in refusals[0]
    outbox = Outbox(Path(settings.store.path))
    try:
        assert [row.state for row in outbox.list(None)] == [State.PENDING]
    finally:
        outbox.close()


# -- the ACL we ship (deploy/raspberrypi/mosquitto/acl.example) -----------------------------------
SHIPPED_ACL = Path(__file__).parents[2] / "deploy" / "raspberrypi" / "mosquitto" / "acl.example"
GATEWAY_USER = "test-site/icu-1/gw-1"  # the naming convention: "{site}/{ward}/{gateway}"


@pytest.fixture
def shipped_acl_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    # The test broker takes any username without a password; production takes the certificate's
    # CN (use_identity_as_username), which the ACL sees the same way.
    broker = Mosquitto(tmp_path / "broker", acl=SHIPPED_ACL.read_text(encoding="utf-8"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def puback_reason(broker: Mosquitto, username: str, topic: str) -> int:
    """Publish once at QoS 1 (MQTT 5) as ``username``; the PUBACK's reason code."""
    reasons: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="acl-probe", protocol=mqtt.MQTTv5)
    client.username_pw_set(username)
    client.on_publish = lambda _c, _u, _mid, reason, _p: reasons.append(reason.value)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, b"{}", qos=1).wait_for_publish(timeout=10)
        wait_for(lambda: bool(reasons), 10, "PUBACK")
    finally:
        client.disconnect()
        client.loop_stop()
    return reasons[0]


def test_shipped_acl_confines_a_gateway_to_its_own_site_and_ward(
    shipped_acl_broker: Mosquitto,
) -> None:
    def reason(topic: str) -> int:
        return puback_reason(shipped_acl_broker, GATEWAY_USER, topic)

    assert reason("wardlink/test-site/icu-1/gw-1/ident/dev-1") < 0x80  # its own prefix
    assert reason("wardlink/test-site/icu-2/gw-1/ident/dev-1") == NOT_AUTHORIZED  # other ward
    assert reason("wardlink/other-site/icu-1/gw-1/ident/dev-1") == NOT_AUTHORIZED  # other site
    assert reason("wardlink/test-site/icu-1/gw-2/ident/dev-1") == NOT_AUTHORIZED  # other gateway
    # Only the centre answers host queries and acks: a gateway cannot forge them for another.
    assert reason("wardlink/test-site/icu-1/gw-2/query-reply/dev-1") == NOT_AUTHORIZED
    consumer = "emr-consumer"
    assert puback_reason(shipped_acl_broker, consumer, "wardlink/a/b/c/query-reply/d") < 0x80
    assert puback_reason(shipped_acl_broker, consumer, "wardlink/a/b/c/ack") < 0x80
    assert puback_reason(shipped_acl_broker, consumer, "wardlink/a/b/c/lab/d") == NOT_AUTHORIZED


async def test_shipped_acl_lets_the_centre_answer_a_host_query(
    tmp_path: Path, shipped_acl_broker: Mosquitto
) -> None:
    from tests.e2e.test_forged_query_reply import analyzer_gateway  # noqa: PLC0415
    from tests.hardware_sim.astm_analyzer import AnalyzerSimulator  # noqa: PLC0415

    orders = tmp_path / "orders.csv"
    orders.write_text("specimen_id,tests,priority\n2611230001,GLU CREA,R\n", encoding="utf-8")
    centre_url = shipped_acl_broker.url.replace("mqtt://", "mqtt://emr-consumer@")
    centre = await asyncio.to_thread(
        ConsumerProcess(tmp_path, centre_url, extra=("--orders", str(orders))).start
    )
    try:
        mqtt_keys = {"protocol": "5", "username": GATEWAY_USER}
        async with analyzer_gateway(tmp_path, shipped_acl_broker, mqtt_keys) as (device_port, _):
            analyzer = await AnalyzerSimulator.connect("127.0.0.1", device_port)
            reply = [r for m in await analyzer.query(["2611230001"], timeout=20) for r in m]
            await analyzer.close()
    finally:
        centre.stop()
    assert reply[-1] == b"L|1|F"  # the centre's orders, not "no information"
    assert reply[2].split(b"|")[4] == b"^^^GLU\\^^^CREA"


NOT_AUTHORIZED = 0x87


async def test_shipped_acl_with_certificates_named_by_the_convention(tmp_path: Path) -> None:
    """As deployed: the CN is the username (use_identity_as_username), "/" in it included."""
    from tests.e2e.pki import make_pki  # noqa: PLC0415

    pki = make_pki(tmp_path / "pki", {"gw-1": GATEWAY_USER})
    broker = Mosquitto(
        tmp_path / "broker",
        acl=SHIPPED_ACL.read_text(encoding="utf-8"),
        extra_conf=(
            f"cafile {pki['ca.crt']}\ncertfile {pki['server.crt']}\nkeyfile {pki['server.key']}\n"
            "require_certificate true\nuse_identity_as_username true\n"
        ),
    )
    broker.start()

    async def forward_one(ward: str) -> tuple[float, float]:
        tls = {
            "protocol": "5",
            "ca_file": str(pki["ca.crt"]),
            "cert_file": str(pki["gw-1.crt"]),
            "key_file": str(pki["gw-1.key"]),
        }
        config = write_config(tmp_path / ward, f"mqtts://127.0.0.1:{broker.port}", mqtt=tls)
        config.write_text(config.read_text().replace('ward = "icu-1"', f'ward = "{ward}"'))
        settings = load_settings(config)
        port = int(settings.http.listen.rsplit(":", 1)[1])
        gateway = Gateway(settings)
        running = asyncio.create_task(gateway.run())
        try:
            await gateway.pipeline.submit(
                "dev-1", Identification(source=IdentificationSource.BARCODE, data="SP1")
            )
            for _ in range(300):
                _, body = await asyncio.to_thread(http_get, port, "/metrics")
                sent = metric_value(body, "wardlink_forward_messages_total", IDENT)
                refused = metric_value(body, "wardlink_forward_refused_total", 'device="dev-1"')
                if sent or refused:
                    return sent, refused
                await asyncio.sleep(0.1)
            raise AssertionError("the broker never answered the publish")
        finally:
            gateway.stop()
            await running

    try:
        assert await forward_one("icu-1") == (1, 0)
    finally:
        broker.stop()


IDENT = 'device="dev-1",kind="ident"'
