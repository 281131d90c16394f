"""The reference consumer acknowledges only what it has written and fsynced (issue 11, defect 2).

The consumer runs as the centre runs it, against a real Mosquitto and a real gateway with
end-to-end acks, and its output file hits a real write error: the process's file size limit
(``RLIMIT_FSIZE``; Python ignores SIGXFSZ, so the write fails with EFBIG as on a full disk).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
from pathlib import Path

from adapters.canonical.events import Identification, IdentificationSource
from edge_store import Outbox, State
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from tests.e2e.harness import PYTHON, GrowingJsonLines, _env, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto

FILE_LIMIT = 16 * 1024  # room for a few dozen envelopes
BATCH = 10


def acked_ids(store: Path) -> set[str]:
    outbox = Outbox(store)
    try:
        return {row.id for row in outbox.list(State.ACKED, limit=100_000)}
    finally:
        outbox.close()


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


async def test_a_write_error_stops_the_consumer_and_nothing_unwritten_is_acked(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = write_config(tmp_path / "gw", mosquitto.url, mqtt={"end_to_end_ack": True})
    settings = load_settings(config)
    store = Path(settings.store.path)
    out, err = tmp_path / "central.jsonl", tmp_path / "central.stderr"
    with err.open("wb") as err_file:
        consumer = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gateway",
                "consume",
                "--broker",
                mosquitto.url,
                "--client-id",
                "central",
                "--ack",
                "--out",
                str(out),
            ],
            stderr=err_file,
            env=_env(),
            preexec_fn=limit_file_size,  # noqa: PLW1509 - one call, before exec
        )
    try:
        await async_wait_for(
            lambda: err.read_text().count("consuming ") >= 2, 20, "consumer subscribed"
        )
        gateway = Gateway(settings)
        running = asyncio.create_task(gateway.run())
        submitted: list[str] = []
        try:
            # Batch by batch, each one acknowledged before the next, until the file is full.
            while consumer.poll() is None:
                assert len(submitted) < 40 * BATCH, "the file size limit was never reached"
                for n in range(BATCH):
                    submitted.append(
                        await gateway.pipeline.submit(
                            "dev-1",
                            Identification(
                                source=IdentificationSource.BARCODE, data=f"SP{len(submitted)}{n}"
                            ),
                        )
                    )
                await async_wait_for(
                    lambda: consumer.poll() is not None or set(submitted) <= acked_ids(store),
                    30,
                    "the batch acknowledged, or the consumer stopped",
                )
            # The consumer stopped on its own, without being told to: it did not linger.
            code = consumer.wait(timeout=30)
            acked = acked_ids(store)
        finally:
            gateway.stop()
            await running
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()

    written = {record["id"] for record in GrowingJsonLines(out).poll()}
    assert code == 1
    errors = [line for line in err.read_text().splitlines() if "stopped:" in line]
    assert errors == [
        f"wardlink consume: stopped: cannot write {out}: File too large; what was not "
        "written was not acknowledged and stays at the broker"
    ]
    assert out.stat().st_size <= FILE_LIMIT
    assert set(submitted) - written, "every envelope fitted: the write error never happened"
    assert len(acked) >= 2 * BATCH, "the acks before the failure did not arrive"
    assert acked <= written, f"acked but not in the file: {sorted(acked - written)}"
