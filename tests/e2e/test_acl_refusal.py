"""Acceptance: an MQTT 5 PUBACK with reason >= 0x80 (ACL) is not delivery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import Outbox, State
from gateway.config_check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import http_get, metric_value, write_config
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
