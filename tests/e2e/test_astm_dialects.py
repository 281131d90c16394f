"""Which dialect read an ASTM message, end to end: analyzer on TCP → gateway → Mosquitto.

Issue 12: a Mindray BC matched the Mindray CL dialect and its WBC and HGB arrived without test
codes, and nothing said which dialect was used. Here the consumer sees the dialect in the
analyzer block; a field the dialect does not read shows in the metric and the device's retained
status; a result without a code arrives flagged and counted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ConsumerProcess, async_wait_for, http_get, metric_value
from tests.e2e.test_astm_analyzer import astm_toml
from tests.e2e.test_hl7_analyzer import REPO, running_gateway
from tests.e2e.test_status_topics import BASE, StatusWatcher
from tests.hardware_sim.astm_analyzer import AnalyzerSimulator, messages_in_file
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port

CORPUS = REPO / "tests" / "corpus" / "astm"
BC = CORPUS / "records" / "mindray_bc_style_cbc_vn_patient.astm"
SHIFTED = CORPUS / "dialects" / "shifted_patient_fields.astm"
DIALECT_LOGGER = "adapters.lis_analyzers.astm_dialect_choice"


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


async def metrics(gateway: Any) -> str:
    _, body = await asyncio.to_thread(http_get, port_of(gateway.settings.http.listen), "/metrics")
    return body


async def test_auto_names_the_dialect_and_shows_unread_fields_in_metric_and_status(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=DIALECT_LOGGER)
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    watcher = StatusWatcher(mosquitto)
    port = free_port()
    async with running_gateway(
        tmp_path, mosquitto, astm_toml(f"listen://127.0.0.1:{port}")
    ) as gateway:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        analyzer = await AnalyzerSimulator.connect("127.0.0.1", port)
        for path in (BC, SHIFTED, BC, SHIFTED):  # twice each: logged once per connection
            (records,) = messages_in_file(path)
            assert (await analyzer.send(records)).completed
        await analyzer.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 2, 30, "both specimens")
        body = await metrics(gateway)
        topic = f"{BASE}/device/analyzer-1/status"

        def unread_in_status() -> dict[str, int]:
            found = [p for t, p, _ in watcher.seen if t == topic and p.get("unread_fields")]
            return found[-1]["unread_fields"] if found else {}

        await async_wait_for(lambda: unread_in_status() == {"P-7": 2, "P-10": 2}, 30, "status")
    watcher.close()
    consumer.stop()
    # The BC message and its resend are one message, kept once; so is the shifted one.
    payloads = {e["payload"]["specimen_id"]: e["payload"] for e in consumer.envelopes()}
    assert payloads["2603020011"]["analyzer"]["dialect"] == "mindray-bc"
    assert [o["local_code"]["code"] for o in payloads["2603020011"]["observations"]][1:3] == [
        "6690-2",
        "718-7",
    ]
    # No shipped dialect fits WardLink^SHIFT-1: generic reads H-5 as model^software^serial.
    assert payloads["2603020042"]["analyzer"] == {
        "model": "WardLink",
        "software": "SHIFT-1",
        "serial": "1.0",
        "dialect": "generic",
    }
    assert "name" not in payloads["2603020042"]["patient"]  # P-7 was not read: counted below
    unread = "wardlink_astm_unread_fields_total"
    assert metric_value(body, unread, 'device="analyzer-1",record_type="P"') == 4
    assert metric_value(body, unread, 'device="analyzer-1",record_type="O"') == 0
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == DIALECT_LOGGER]
    # Four messages on one connection, two choices: each said once.
    assert [level for level, _ in said] == ["INFO", "WARNING"]
    assert "ASTM dialect mindray-bc (auto" in said[0][1]
    assert "read as generic" in said[1][1]
    assert "Lê" not in caplog.text  # no PHI in the logs
    assert "BN2026" not in caplog.text


async def test_a_result_without_a_code_arrives_flagged_and_counted(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    port = free_port()
    # The wrong dialect, configured: what issue 12's analyzer got from auto.
    devices = astm_toml(f"listen://127.0.0.1:{port}", dialect="mindray-cl")
    async with running_gateway(tmp_path, mosquitto, devices) as gateway:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        analyzer = await AnalyzerSimulator.connect("127.0.0.1", port)
        (records,) = messages_in_file(BC)
        assert (await analyzer.send(records)).completed
        await analyzer.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 1, 30, "the specimen")
        body = await metrics(gateway)
    consumer.stop()
    (envelope,) = consumer.envelopes()
    observations = envelope["payload"]["observations"]
    assert [(o["value"], o["flags"][-1], o["unmapped"]) for o in observations] == [
        ("CBC+DIFF", "NO_CODE", True),
        (9.81, "NO_CODE", True),
        (65.0, "NO_CODE", True),
        (212.0, "NO_CODE", True),
        (1.4, "NO_CODE", True),
    ]
    assert envelope["payload"]["analyzer"]["dialect"] == "mindray-cl"
    labels = 'device="analyzer-1",kind="lab_result"'
    assert metric_value(body, "wardlink_results_without_code_total", labels) == 5
