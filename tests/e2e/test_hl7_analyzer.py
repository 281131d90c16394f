"""HL7 analyzers over MLLP, end to end: peers we did not write, bad input, 50 connections."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.codemap import CodeMap
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from adapters.mllp import encode_frame
from adapters.zones import gateway_zone
from drivers.tcp import TcpStream
from gateway.config.check import load_settings
from gateway.daemon import Gateway
from gateway.reject_records import read_records
from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.e2e.pki import make_pki
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.hl7_sender import (
    Ack,
    Hl7Sender,
    encode_cp1258,
    messages_in_file,
    parse_ack,
    synthetic_oru,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
LOCAL_CORPUS = REPO / "tests" / "corpus"
# Lab result messages an analyzer port takes; monitor PCD-01/04 messages belong to the
# hl7-monitor kind (planned), orders and ACKs are not results.
LAB_FILES = [
    "hl7_oru_r01_mindray_bc5380_cbc_loinc_99mrc_manual_example.hl7",
    "hl7_oul_r22_ihe_law_lab29_abbott_alinity_m_viral_load.hl7",
    "hl7_oul_r22_ihe_law_lab29_roche_cobas_pure_qc_truncated.hl7",
    "hl7_oul_r22_roche_cobas4800_control_dr_and_text_value.hl7",
    "hl7_oul_r24_boditech_ichroma2_hba1c_tx_values.hl7",
]
NOT_RESULTS = [  # answered AR: a message type this device does not take
    "hl7_oru_r40_pcd04_ge_mural_alert_advisory.hl7",
    "hl7_oru_w01_mindray_xh80x_waveform_header.hl7",
    "hl7_orr_o02_mindray_bc5000_order_response_host_to_analyzer.hl7",
]


def device_toml(
    port: int, *, device_id: str = "analyzer-1", encoding: str = "utf-8", options: str = ""
) -> str:
    return (
        f'[[devices]]\nid = "{device_id}"\nkind = "hl7-analyzer"\n'
        f'connection = "listen://127.0.0.1:{port}"\nencoding = "{encoding}"\n'
        f"[devices.options]\n{options}\n"
    )


@asynccontextmanager
async def running_gateway(
    tmp_path: Path, broker: Mosquitto, devices: str
) -> AsyncIterator[Gateway]:
    gateway = Gateway(load_settings(write_config(tmp_path / "gw", broker.url, devices=devices)))
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        gateway.stop()
        await task


async def mllp_send(messages: list[bytes], port: int, workdir: Path) -> list[Ack]:
    """Send with python-hl7's own ``mllp_send`` tool (a peer we did not write); its ACKs."""
    framed = workdir / "messages.mllp"
    framed.write_bytes(b"".join(encode_frame(m) for m in messages))
    tool = Path(sys.executable).with_name("mllp_send")
    result = await asyncio.to_thread(
        subprocess.run,
        [str(tool), "--file", str(framed), "-p", str(port), "127.0.0.1"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.decode().replace("\\r", "\r").split("\n")
    return [parse_ack(line.encode()) for line in lines if "MSA" in line]


def lab_messages() -> list[tuple[str, bytes]]:
    found = []
    if SHARED_CORPUS.is_dir():
        for name in LAB_FILES:
            found += [(name, m) for m in messages_in_file(SHARED_CORPUS / name)]
    for path in sorted((LOCAL_CORPUS / "lab").glob("*.hl7")):
        found += [(path.name, m) for m in messages_in_file(path)]
    return found


async def test_python_hl7_mllp_send_delivers_every_lab_sample(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    samples = lab_messages()
    assert samples, "no lab HL7 samples found"
    refused = [
        m
        for name in NOT_RESULTS
        if SHARED_CORPUS.is_dir()
        for m in messages_in_file(SHARED_CORPUS / name)
    ]
    port = free_port()
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with running_gateway(tmp_path, mosquitto, device_toml(port)) as gateway:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        acks = await mllp_send([m for _, m in samples] + refused, port, tmp_path)
        expected_results = [
            r
            for _, m in samples
            # No timezone option: times without an offset are in the gateway host's zone.
            for r in lab_results_from_hl7(
                parse_message(m), CodeMap.empty(), "analyzer-1", local_zone=gateway_zone()
            )
        ]
        await async_wait_for(lambda: len(consumer.ids()) >= len(expected_results), 30, "results")
        assert gateway.pipeline.refusing is False
    consumer.stop()
    controls = [parse_message(m).control_id for _, m in samples] + [
        parse_message(m).control_id for m in refused
    ]
    assert [a.control_id for a in acks] == controls
    # Enhanced mode (MSH-15 AL, as PCD-04 senders use) refuses with a commit reject, CR.
    refusals = ["CR" if parse_message(m).msh.text(15) == "AL" else "AR" for m in refused]
    assert [a.code for a in acks] == ["AA"] * len(samples) + refusals
    assert all("unsupported message type" in a.text for a in acks[len(samples) :])
    envelopes = consumer.envelopes()
    assert len(envelopes) == len(expected_results)
    got = sorted(json.dumps(e["payload"]["observations"], sort_keys=True) for e in envelopes)
    want = sorted(
        json.dumps(
            [o.model_dump(mode="json", exclude_none=True) for o in r.observations], sort_keys=True
        )
        for r in expected_results
    )
    assert got == want


CONNECTIONS = 50
PER_CONNECTION = 4


async def test_bad_input_is_answered_while_50_connections_are_served(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    # A connection cap above the 51 connections this test holds (the default is 16).
    options = "max_message_kb = 16\nread_timeout_s = 5\nmax_connections = 64"
    devices = device_toml(port, options=options)
    rng = random.Random(5)
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with running_gateway(tmp_path, mosquitto, devices) as gateway:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        senders = [await Hl7Sender.connect("127.0.0.1", port) for _ in range(CONNECTIONS)]

        async def good_traffic(n: int, sender: Hl7Sender) -> list[str]:
            codes = []
            for i in range(PER_CONNECTION):
                ack = await sender.send(synthetic_oru(rng, f"C{n:02d}-{i}"))
                codes.append(ack.code)
            return codes

        async def bad_traffic() -> list[tuple[str, str]]:
            bad = await Hl7Sender.connect("127.0.0.1", port)
            answers = []
            oversized = synthetic_oru(rng, "BIG").replace(
                b"OBR|", b"NTE|1||" + b"x" * 40_000 + b"\rOBR|"
            )
            wrong_charset = synthetic_oru(rng, "CP", encoding="cp1258")  # says UTF-8, is not
            not_hl7 = b"HELLO ANALYZER\r"
            for message in (oversized, wrong_charset, not_hl7):
                ack = await bad.send(message)
                answers.append((ack.code, ack.text))
            await bad.close()
            return answers

        bad = asyncio.create_task(bad_traffic())  # alongside the 50 good connections
        good = await asyncio.gather(*(good_traffic(n, s) for n, s in enumerate(senders)))
        bad_answers = await bad
        for sender in senders:
            await sender.close()
        total = CONNECTIONS * PER_CONNECTION
        await async_wait_for(lambda: len(consumer.ids()) >= total, 60, "all good results")
    summary = consumer.stop()
    # Kept once the gateway stopped: the three refusals form one burst, so one record.
    kept = read_records(Path(gateway.settings.store.path).parent / "rejected", "analyzer-1")
    assert bad_answers[0] == ("AR", "frame exceeds 16384 bytes")
    assert bad_answers[1][0] == "AE"
    assert "not valid utf-8 (check MSH-18" in bad_answers[1][1]
    assert bad_answers[2] == ("AR", "no MSH segment")
    assert all(codes == ["AA"] * PER_CONNECTION for codes in good)
    assert summary["unique"] == total
    assert [record.rejects for record in kept] == [3]  # each refusal kept for inspection
    reasons = [reason for reason, _ in kept[0].samples]
    assert reasons[0] == "frame exceeds 16384 bytes"
    assert "not valid utf-8" in reasons[1]
    assert reasons[2] == "no MSH segment"


async def test_vietnamese_names_survive_in_utf8_and_in_a_legacy_code_page(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    utf8_port, legacy_port = free_port(), free_port()
    devices = device_toml(utf8_port) + device_toml(
        legacy_port, device_id="old-analyzer", encoding="cp1258"
    )
    name = "NGUYỄN^THỊ ÁNH"
    template = synthetic_oru(random.Random(1), "VN", charset=None).decode()
    pid = next(seg for seg in template.split("\r") if seg.startswith("PID"))
    message = template.replace(pid, f"PID|1||PT000001^^^^MR||{name}||19800101|F")
    consumer = await asyncio.to_thread(ConsumerProcess(tmp_path, mosquitto.url).start)
    async with running_gateway(tmp_path, mosquitto, devices):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", utf8_port)
        await asyncio.to_thread(wait_for_port, "127.0.0.1", legacy_port)
        for port, encoded in (
            (utf8_port, message.encode("utf-8")),
            (legacy_port, encode_cp1258(message)),
        ):
            sender = await Hl7Sender.connect("127.0.0.1", port)
            assert (await sender.send(encoded)).code == "AA"
            await sender.close()
        await async_wait_for(lambda: len(consumer.ids()) == 2, 30, "both results")
    consumer.stop()
    lines = consumer.out.read_bytes().splitlines()
    expected = "NGUYỄN THỊ ÁNH".encode()  # NFC, UTF-8, as the consumer's bytes carry it
    assert all(expected in line for line in lines)
    names = {
        json.loads(line)["device_id"]: json.loads(line)["payload"]["patient"]["name"]
        for line in lines
    }
    assert names == {"analyzer-1": "NGUYỄN THỊ ÁNH", "old-analyzer": "NGUYỄN THỊ ÁNH"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_mllp_over_tls_requires_a_client_certificate(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    pki = make_pki(tmp_path / "pki")
    port = free_port()
    options = (
        f'tls_cert_file = "{pki["server.crt"]}"\ntls_key_file = "{pki["server.key"]}"\n'
        f'tls_peer_ca_file = "{pki["ca.crt"]}"\n'
    )
    with_cert = ssl.create_default_context(cafile=pki["ca.crt"])
    with_cert.load_cert_chain(pki["client.crt"], pki["client.key"])
    without_cert = ssl.create_default_context(cafile=pki["ca.crt"])
    async with running_gateway(tmp_path, mosquitto, device_toml(port, options=options)):
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        sender = await Hl7Sender.connect("127.0.0.1", port, tls=with_cert)
        ack = await sender.send(synthetic_oru(random.Random(2), "TLS-1"))
        await sender.close()
        stranger = await Hl7Sender.connect("127.0.0.1", port, tls=without_cert)
        # TLS 1.3 finishes the client's handshake first; the server's refusal of the missing
        # certificate arrives as an alert on the first read.
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await stranger.send(synthetic_oru(random.Random(3), "TLS-2"))
        await stranger.close()
    assert ack.code == "AA"
    assert ack.control_id == "TLS-1"


async def test_a_message_the_store_cannot_take_is_answered_ar_and_not_lost(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "gw", mosquitto.url, devices=device_toml(port), store={"quota_mb": 1}
    )
    gateway = Gateway(load_settings(config))
    task = asyncio.create_task(gateway.run())
    mosquitto.stop()  # the centre is away: the backlog fills the quota
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
        sender = await Hl7Sender.connect("127.0.0.1", port)
        rng = random.Random(4)
        codes = []
        for n in range(2000):
            ack = await sender.send(synthetic_oru(rng, f"Q{n}"))
            codes.append(ack.code)
            if ack.code != "AA":
                refusal = ack
                break
        await sender.close()
        stats = await gateway.outbox.stats()
    finally:
        gateway.stop()
        await task
    assert codes[-1] == "AR"
    assert "not stored" in refusal.text
    assert codes.count("AA") == sum(stats.pending.values())  # every AA is a stored row


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_connecting_out_to_a_tls_middleware_checks_its_certificate(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """tcp:// with TLS: we dial the LIS middleware, which sends results and reads our ACKs."""
    pki = make_pki(tmp_path / "pki")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(pki["server.crt"], pki["server.key"])
    server_tls.load_verify_locations(pki["ca.crt"])
    server_tls.verify_mode = ssl.CERT_REQUIRED  # the middleware wants our client certificate
    acks: asyncio.Queue[str] = asyncio.Queue()
    done = asyncio.Event()

    async def middleware(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = Hl7Sender(TcpStream(reader, writer))
        try:
            ack = await sender.send(synthetic_oru(random.Random(6), "MW-1"))
            await acks.put(f"{ack.code} {ack.control_id}")
            await done.wait()  # hold the link open, as middleware does
        finally:
            writer.close()

    server = await asyncio.start_server(middleware, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    options = (
        f'tls_cert_file = "{pki["client.crt"]}"\ntls_key_file = "{pki["client.key"]}"\n'
        f'tls_peer_ca_file = "{pki["ca.crt"]}"\n'
    )
    devices = device_toml(port, options=options).replace("listen://", "tcp://")
    try:
        async with running_gateway(tmp_path, mosquitto, devices):
            answer = await asyncio.wait_for(acks.get(), 30)
    finally:
        done.set()
        server.close()
    assert answer == "AA MW-1"
