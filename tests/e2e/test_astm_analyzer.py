"""ASTM analyzers end to end: simulator on a pty or TCP → gateway → Mosquitto → consumer.

What a lab engineer would check on the bench: every result of every transcript arrives coded;
a bad frame is NAKed and its resend taken; the last frame is ACKed only once the results are on
disk (NAKed when the store refuses them); a cable pulled and plugged back resumes by itself;
barcode queries come back as orders, or as "no information" in time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from adapters.astm.dialect import load_dialect, match_dialect
from adapters.astm.dialect_link import INSTRUMENT
from adapters.astm.frames import ACK, NAK
from adapters.astm.records import parse_transmission
from adapters.codemap import load_code_map
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.zones import gateway_zone
from edge_store import StoreFullError
from gateway.daemon import Gateway
from tests.e2e.harness import ConsumerProcess, async_wait_for
from tests.e2e.test_hl7_analyzer import REPO, SHARED_CORPUS, running_gateway
from tests.hardware_sim.astm_analyzer import (
    AnalyzerSimulator,
    Faults,
    messages_in_file,
    synthetic_results,
)
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.pty_pair import PtyPair

CODE_MAP = REPO / "adapters" / "lis_analyzers" / "codemaps" / "example.csv"
# Short link timers on the simulator: a cut frame is resent after 1 s, not 15 s.
QUICK = dataclasses.replace(INSTRUMENT, sender_timeout=1.0, busy_wait=0.5)


def astm_toml(
    connection: str, *, device_id: str = "analyzer-1", dialect: str = "auto", options: str = ""
) -> str:
    return (
        f'[[devices]]\nid = "{device_id}"\nkind = "astm-analyzer"\n'
        f'connection = "{connection}"\ndialect = "{dialect}"\n'
        f'[devices.options]\ncode_map = "{CODE_MAP}"\n{options}\n'
    )


def expected_results(messages: list[list[bytes]]) -> list[dict[str, Any]]:
    """What the gateway should forward, read by the same mapping the unit tests pin down."""
    code_map = load_code_map(CODE_MAP)
    results = []
    for records in messages:
        for message in parse_transmission(records):
            name = match_dialect(message.header.record.fields) or "generic"
            # No timezone option: ASTM times (never with an offset) are in the gateway's zone.
            results += lab_results_from_astm(
                message, code_map, "analyzer-1", load_dialect(name), local_zone=gateway_zone()
            )
    return [r.model_dump(mode="json", exclude_none=True) for r in results]


def canonical(payloads: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(p, sort_keys=True, ensure_ascii=False) for p in payloads)


def corpus_messages() -> list[list[bytes]]:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus {SHARED_CORPUS} is absent (bare clone)")
    files = sorted(SHARED_CORPUS.glob("astm_*.astm")) + sorted(SHARED_CORPUS.glob("astm_*.bin"))
    messages = [m for path in files for m in messages_in_file(path)]
    # python-astm's codec vectors hold frames of A|B|C|D, not E1394 messages. A message in two
    # files is sent once: the gateway rightly stores a byte-identical message once (a resend).
    unique = {b"\r".join(m): m for m in messages if m[0].lstrip(b"01234567").startswith(b"H")}
    return list(unique.values())


@asynccontextmanager
async def pty_gateway(
    tmp_path: Path, broker: Mosquitto, options: str = ""
) -> AsyncIterator[tuple[Gateway, PtyPair]]:
    with PtyPair(tmp_path) as pair:
        devices = astm_toml(f"serial://{pair.path}?baudrate=115200", options=options)
        async with running_gateway(tmp_path, broker, devices) as gateway:
            await async_wait_for(
                lambda: gateway.status.snapshot("analyzer-1").state == "connected", 20, "port open"
            )
            yield gateway, pair


async def test_every_corpus_transcript_over_a_pty_reaches_the_consumer_coded(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    messages = corpus_messages()
    want = expected_results(messages)
    assert len(want) >= 25  # specimens from a dozen analyzer families
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with pty_gateway(tmp_path, mosquitto, "host_query = false") as (_, pair):
        analyzer = AnalyzerSimulator.over_pty(pair)
        outcomes = [await analyzer.send(records) for records in messages]
        await analyzer.close()
        await async_wait_for(lambda: len(consumer.ids()) >= len(want), 60, "every result")
    summary = consumer.stop()
    assert [o.reason for o in outcomes if not o.completed] == []
    results = ("lab_result", "qc_result")  # controls (Horiba, Hitachi QC) arrive as qc_result
    envelopes = [e for e in consumer.envelopes() if e["payload"]["kind"] in results]
    assert canonical([e["payload"] for e in envelopes]) == canonical(want)
    assert any(e["payload"]["kind"] == "qc_result" for e in envelopes)
    assert summary["duplicates"] == 0
    assert summary["sequence_gaps"] == {}
    # Coded: mapped rows carry the hospital code and LOINC; the rest are flagged, still sent.
    observations = [o for e in envelopes for o in e["payload"]["observations"]]
    assert any(o.get("code", {}).get("system") == "LOINC" for o in observations)
    assert any(o.get("unmapped") for o in observations)
    assert all(e["raw"]["data"] for e in envelopes)  # the message as sent, for audit


async def test_bad_checksum_cut_frame_noise_and_lost_ack_still_store_once(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    faults = Faults(
        bad_checksum=frozenset({2}),
        garbage_before=frozenset({3}),
        cut=frozenset({4}),
        ignore_ack=frozenset({6}),
    )
    messages = [synthetic_results(f"SP{n:04d}", 4, seed=n) for n in range(2)]
    async with pty_gateway(tmp_path, mosquitto) as (gateway, pair):
        analyzer = AnalyzerSimulator.over_pty(pair, config=QUICK, faults=faults)
        outcomes = [await analyzer.send(records) for records in messages]
        await analyzer.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 2, 30, "both specimens")
        rejected = gateway.metrics.rejected.labels(device="analyzer-1")._value.get()
    summary = consumer.stop()
    assert all(o.completed for o in outcomes), outcomes
    assert outcomes[0].naks == 1  # the bad checksum, NAKed; its resend ACKed
    assert summary["unique"] == 2
    assert summary["duplicates"] == 0
    assert sorted(e["payload"]["specimen_id"] for e in consumer.envelopes()) == ["SP0000", "SP0001"]
    assert rejected >= 3  # checksum, noise, the repeat after the lost ACK: counted and kept
    kept = list((tmp_path / "gw" / "rejected" / "analyzer-1").iterdir())
    assert kept


async def test_a_message_resent_after_a_gateway_restart_is_stored_once(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # The gateway committed the message and stopped before the analyzer saw the final ACK
    # (a crash or a power cut there): the analyzer sends it again to the restarted gateway.
    first, second = (synthetic_results(f"SP{n:04d}", 3, seed=n) for n in (300, 301))
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    with PtyPair(tmp_path) as pair:
        devices = astm_toml(f"serial://{pair.path}?baudrate=115200", options="host_query = false")
        for sends in ([first], [first, second]):
            async with running_gateway(tmp_path, mosquitto, devices) as gateway:
                await async_wait_for(
                    lambda: gateway.status.snapshot("analyzer-1").state == "connected", 20, "open"
                )
                analyzer = AnalyzerSimulator.over_pty(pair)
                outcomes = [await analyzer.send(records) for records in sends]
                await analyzer.close()
                assert all(o.completed for o in outcomes), outcomes  # ACKed both times
                # One device lane, in order: anything stored for the resend precedes SP0301.
                await async_wait_for(
                    partial(_arrived, consumer, f"SP{299 + len(sends):04d}"), 30, "last specimen"
                )
    summary = consumer.stop()
    specimens = [e["payload"]["specimen_id"] for e in consumer.envelopes()]
    assert specimens == ["SP0300", "SP0301"]
    assert summary["duplicates"] == 0
    assert summary["sequence_gaps"] == {}


def _arrived(consumer: ConsumerProcess, specimen_id: str) -> bool:
    return any(e["payload"]["specimen_id"] == specimen_id for e in consumer.envelopes())


def gate_commits(gateway: Gateway, *, fail_first: int = 0) -> tuple[asyncio.Event, list[float]]:
    """Hold the store's commits until the event is set; refuse the first ``fail_first``.

    The store itself stays real: this only delays or refuses the call, as a slow or full disk
    does, so the test can watch the wire while the commit is pending.
    """
    release = asyncio.Event()
    committed_at: list[float] = []
    outbox = gateway.outbox
    real: Callable[..., Coroutine[Any, Any, Any]] = outbox.append_message
    failures = [fail_first]

    async def gated(key: Any, entries: Any) -> Any:
        await release.wait()
        if failures[0] > 0:
            failures[0] -= 1
            raise StoreFullError(0, 1, "disk full (test)")
        result = await real(key, entries)
        committed_at.append(time.monotonic())
        return result

    outbox.append_message = gated  # type: ignore[method-assign]
    return release, committed_at


def answers_after_last_frame(analyzer: AnalyzerSimulator) -> list[tuple[float, bytes]]:
    """The host's answers (ACK/NAK bytes) read after the message's last frame was written."""
    last_frame = max(
        i for i, (_, way, data) in enumerate(analyzer.wire) if way == "out" and b"\x03" in data
    )
    return [(t, d) for t, way, d in analyzer.wire[last_frame + 1 :] if way == "in"]


async def test_last_frame_is_acked_only_after_the_commit_and_naked_when_it_fails(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with pty_gateway(tmp_path, mosquitto) as (gateway, pair):
        release, committed_at = gate_commits(gateway, fail_first=1)
        analyzer = AnalyzerSimulator.over_pty(pair, config=QUICK)
        sending = asyncio.create_task(analyzer.send(synthetic_results("SP0100", 3, seed=7)))
        await async_wait_for(
            lambda: any(way == "out" and b"\x03" in d for _, way, d in analyzer.wire),
            20,
            "last frame written",
        )
        await asyncio.sleep(0.5)  # time enough for an early ACK to show itself
        assert answers_after_last_frame(analyzer) == []  # nothing while the commit is pending
        release.set()
        outcome = await sending
        await analyzer.close()
        stored = await gateway.outbox.list()
    assert outcome.completed
    assert outcome.naks == 1  # the refused commit: the last frame NAKed, resent, then ACKed
    assert outcome.final_ack_at is not None
    assert committed_at
    assert outcome.final_ack_at > committed_at[0]
    answers = b"".join(d for _, way, d in analyzer.wire if way == "in")
    assert answers.count(bytes([NAK])) == 1
    assert answers.endswith(bytes([ACK]))
    assert len(stored) == 1  # stored once: the refused attempt left nothing behind


async def test_unplug_and_replug_resume_without_restarting_the_gateway(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with pty_gateway(tmp_path, mosquitto) as (gateway, pair):
        first = AnalyzerSimulator.over_pty(pair)
        assert (await first.send(synthetic_results("SP0200", 2, seed=1))).completed
        await first.unplug()
        await async_wait_for(
            lambda: gateway.status.snapshot("analyzer-1").state != "connected", 20, "seen gone"
        )
        pair.replug()
        await async_wait_for(
            lambda: gateway.status.snapshot("analyzer-1").state == "connected", 30, "reopened"
        )
        second = AnalyzerSimulator.over_pty(pair)
        assert (await second.send(synthetic_results("SP0201", 2, seed=2))).completed
        await second.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 2, 30, "both specimens")
    consumer.stop()
    assert sorted(e["payload"]["specimen_id"] for e in consumer.envelopes()) == ["SP0200", "SP0201"]


async def test_host_query_gets_orders_from_the_centre_or_no_information_in_time(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "specimen_id,tests,priority,patient_id,patient_name,specimen_type\n"
        "2611230001,GLU CREA ALT,S,BN-000123,NGUYỄN THỊ ÁNH,Serum\n",
        encoding="utf-8",
    )
    consumer = await asyncio.to_thread(
        ConsumerProcess(tmp_path, mosquitto.url, extra=("--orders", str(orders))).start
    )
    port = free_port()
    devices = astm_toml(f"listen://127.0.0.1:{port}", options="query_timeout_s = 3")
    async with running_gateway(tmp_path, mosquitto, devices):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        analyzer = await AnalyzerSimulator.connect("127.0.0.1", port)
        answered = await analyzer.query(["2611230001"], timeout=20)
        asked_at = time.monotonic()
        unknown = await analyzer.query(["2611239999"], timeout=20)
        unknown_s = time.monotonic() - asked_at
        await analyzer.close()
    consumer.stop()
    records = [r for message in answered for r in message]
    assert [r[:1] for r in records] == [b"H", b"P", b"O", b"L"]
    assert "NGUYỄN THỊ ÁNH".encode() in records[1]
    order = records[2].split(b"|")
    assert order[2] == b"2611230001"
    assert order[4] == b"^^^GLU\\^^^CREA\\^^^ALT"
    assert order[5] == b"S"
    assert records[3] == b"L|1|F"
    assert [r for message in unknown for r in message][-1] == b"L|1|I"
    assert unknown_s < 3.0  # the centre said "none" at once; no waiting for the timeout
    queries = [e for e in consumer.envelopes() if e["payload"]["kind"] == "order_query"]
    assert [q["payload"]["specimen_ids"] for q in queries] == [["2611230001"], ["2611239999"]]


async def test_unanswered_query_gets_no_information_before_the_analyzer_gives_up(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    devices = astm_toml(f"listen://127.0.0.1:{port}", options="query_timeout_s = 1.5")
    async with running_gateway(tmp_path, mosquitto, devices):  # no centre is answering
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        analyzer = await AnalyzerSimulator.connect("127.0.0.1", port)
        asked_at = time.monotonic()
        reply = await analyzer.query(["2611230002"], timeout=15)
        waited = time.monotonic() - asked_at
        await analyzer.close()
    assert [r for message in reply for r in message][-1] == b"L|1|I"
    assert 1.5 <= waited < 15


async def test_gateway_dials_an_analyzer_that_sends_bare_records(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with AnalyzerSimulator.serve("127.0.0.1", 0, framed=False) as server:
        devices = astm_toml(f"tcp://127.0.0.1:{server.port}", options='framing = "auto"')
        async with running_gateway(tmp_path, mosquitto, devices):
            analyzer = await server.accepted()
            for n in range(3):
                await analyzer.send(synthetic_results(f"SP03{n:02d}", 5, seed=n))
            await async_wait_for(lambda: len(consumer.ids()) >= 3, 30, "three specimens")
            await analyzer.close()
    consumer.stop()
    envelopes = consumer.envelopes()
    assert sorted(e["payload"]["specimen_id"] for e in envelopes) == ["SP0300", "SP0301", "SP0302"]
    assert all(len(e["payload"]["observations"]) == 5 for e in envelopes)


async def test_python_astm_client_as_the_analyzer_reaches_the_consumer(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    peer = pytest.importorskip("tests.peers.python_astm")
    try:
        peer.load_python_astm()
    except ModuleNotFoundError:
        pytest.skip("python-astm is not installed: python -m tests.peers.python_astm install")
    test: list[Any] = [[None, None, None, code] for code in ("GLU", "CREA", "ALT")]
    message: list[list[Any]] = [
        ["H", "\\^&", None, None, ["PeerAnalyzer", "1"], None, None, None, None, "LIS", None, "P"],
        ["P", "1", None, "BN-0042", None, ["Nguyễn", "Thị Hồng"], None, "19800101", "F"],
        ["O", "1", "S-2001", None, test, "R"],
        ["R", "1", test[0], "5.4", "mmol/L", "3.9 to 6.1", "N", None, "F"],
        ["R", "2", test[1], "88", "umol/L", "45 to 90", "N", None, "F"],
        ["R", "3", test[2], "61", "U/L", "0 to 40", "H", None, "F"],
        ["L", "1", "N"],
    ]
    second = list(message)
    second[2] = ["O", "1", "S-2002", None, test, "R"]
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    port = free_port()
    async with running_gateway(tmp_path, mosquitto, astm_toml(f"listen://127.0.0.1:{port}")):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        await asyncio.to_thread(peer.send_with_python_astm, "127.0.0.1", port, [message, second])
        await async_wait_for(lambda: len(consumer.ids()) >= 2, 30, "both specimens")
    consumer.stop()
    payloads = sorted((e["payload"] for e in consumer.envelopes()), key=lambda p: p["specimen_id"])
    assert [p["specimen_id"] for p in payloads] == ["S-2001", "S-2002"]
    assert payloads[0]["patient"]["name"] == "Nguyễn Thị Hồng"
    values = [
        (o["local_code"]["code"], o["value"], o["flags"]) for o in payloads[0]["observations"]
    ]
    assert values == [("GLU", 5.4, ["N"]), ("CREA", 88.0, ["N"]), ("ALT", 61.0, ["H"])]


async def test_a_noisy_analyzer_never_blocks_another_one(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    port = free_port()
    async with running_gateway(tmp_path, mosquitto, astm_toml(f"listen://127.0.0.1:{port}")) as gw:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        noisy_reader, noisy = await asyncio.open_connection("127.0.0.1", port)
        # Line noise, a frame outside any session, a session with a frame cut half-way: then
        # this analyzer goes quiet with its frame still open.
        noisy.write(b"\x00\xff\xfe garbage\x021H|\\^&\x0300\r\n\x05")
        await noisy.drain()
        assert await noisy_reader.readexactly(1) == bytes([ACK])  # its ENQ is still answered
        noisy.write(b"\x021H|\\^&|||HALF")
        await noisy.drain()
        good = await AnalyzerSimulator.connect("127.0.0.1", port)
        outcomes = [await good.send(synthetic_results(f"SP05{n:02d}", 3, seed=n)) for n in range(3)]
        await good.close()
        await async_wait_for(lambda: len(consumer.ids()) >= 3, 30, "the good analyzer's results")
        rejected = gw.metrics.rejected.labels(device="analyzer-1")._value.get()
        noisy.close()
        await noisy.wait_closed()
    consumer.stop()
    assert all(o.completed for o in outcomes)
    assert sorted(e["payload"]["specimen_id"] for e in consumer.envelopes()) == [
        "SP0500",
        "SP0501",
        "SP0502",
    ]
    assert rejected >= 2  # the noise and the stray frame, counted and kept
