"""The ASTM analyzer simulator against a second AstmLink in the HOST role, over real pipes.

Every test runs over a TCP connection the simulator dials, one it accepts, and a pty the host
opens with pyserial, as the gateway does. The host here is a few lines around the project's
link layer, so these tests check the simulator's bytes and faults, not a mock's opinion.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest

from adapters.astm.dialect_link import HOST, INSTRUMENT, LinkConfig
from adapters.astm.frames import ACK, ENQ, NAK, STX
from adapters.astm.link import AstmLink
from adapters.astm.link_events import Event, FrameRejected, MessageReceived, SendCompleted
from drivers import tcp
from drivers.base import ByteStream
from drivers.serial import open_serial
from drivers.tcp import TcpStream
from tests.hardware_sim.astm_analyzer import (
    NO_FAULTS,
    AnalyzerSimulator,
    Faults,
    messages_in_file,
    synthetic_results,
)
from tests.hardware_sim.pty_pair import PtyPair

REPO = Path(__file__).resolve().parents[2]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"  # as tests/e2e/test_hl7_analyzer.py finds it
TRANSCRIPTS = sorted(
    path
    for path in (SHARED_CORPUS.glob("astm_*") if SHARED_CORPUS.is_dir() else [])
    if path.suffix in {".astm", ".bin", ".jsonl"}
)
FRAGMENTS = {  # samples of frames, not messages: no H record (corpus SOURCES.md)
    "astm_python_astm_codec_frames.bin": [[b"A|B|C|D"]],
    "astm_vn_lis_capture_utf8_duong_tinh_result_frame.bin": [
        ["R|2|^^^70030^^^^|Dương tính|||||F||||20130719101618||".encode()]
    ],
}

SIM = replace(INSTRUMENT, sender_timeout=0.3, busy_wait=0.1, contention_wait=0.1)
GATEWAY = replace(HOST, sender_timeout=1.0, receiver_timeout=2.0, contention_wait=0.4)
LONG_COMMENT = b"C|1|I|" + b"X" * 300 + b"|G"  # longer than 240: an ETB frame and an ETX frame


_SYNTHETIC = synthetic_results("SP000001", 8, seed=7)  # built once: it carries the time
RESULTS = [*_SYNTHETIC[:-1], LONG_COMMENT, _SYNTHETIC[-1]]


def results() -> list[bytes]:
    return list(RESULTS)


class Host:
    """The gateway's side for these tests: an AstmLink in the HOST role pumped over a stream.

    Accepts every message at once after calling ``on_message`` (which may queue a reply).
    """

    def __init__(
        self,
        stream: ByteStream,
        config: LinkConfig,
        on_message: Callable[[Host, list[bytes]], None] | None = None,
    ) -> None:
        self.stream = stream
        self.link = AstmLink(config)
        self.on_message = on_message
        self.events: list[Event] = []
        self.messages: list[list[bytes]] = []
        self.wire: list[tuple[float, str, bytes]] = []
        self.eof = asyncio.Event()
        self._changed = asyncio.Condition()
        self._wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._pump())

    def send(self, records: list[bytes]) -> None:
        self.link.send_message(records, time.monotonic())
        if not self._wake.done():
            self._wake.set_result(None)

    def sent(self) -> bytes:
        return b"".join(data for _, way, data in self.wire if way == "out")

    def got(self) -> bytes:
        return b"".join(data for _, way, data in self.wire if way == "in")

    def rejections(self) -> list[str]:
        return [event.reason for event in self.events if isinstance(event, FrameRejected)]

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.stream.close()

    async def _pump(self) -> None:
        reading: asyncio.Task[bytes] | None = None
        try:
            while True:
                self._wake = asyncio.get_running_loop().create_future()
                if out := self.link.data_to_send():
                    self.wire.append((time.monotonic(), "out", out))
                    await self.stream.write(out)
                reading = reading or asyncio.create_task(self.stream.read())
                deadline = self.link.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                waiting: list[asyncio.Future[Any]] = [reading, self._wake]
                await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                now = time.monotonic()
                if reading.done():
                    data, reading = reading.result(), None
                    if not data:
                        self.eof.set()
                        return
                    self.wire.append((now, "in", data))
                    self.link.receive_data(data, now)
                self.link.handle_timeout(now)
                for event in self.link.events():
                    self.events.append(event)
                    if isinstance(event, MessageReceived):
                        if self.on_message is not None:
                            self.on_message(self, event.records)
                        self.messages.append(event.records)
                        self.link.accept(event.message_id)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            if reading is not None:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)


class Connect(Protocol):
    def __call__(
        self,
        *,
        faults: Faults = ...,
        framed: bool = ...,
        on_message: Callable[[Host, list[bytes]], None] | None = ...,
    ) -> Awaitable[tuple[AnalyzerSimulator, Host]]: ...


@pytest.fixture(params=["tcp-dial", "tcp-serve", "pty"])
async def connect(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Connect]:
    """Builds one simulator and its host over the parametrized transport; closes both."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            *,
            faults: Faults = NO_FAULTS,
            framed: bool = True,
            on_message: Callable[[Host, list[bytes]], None] | None = None,
        ) -> tuple[AnalyzerSimulator, Host]:
            stream: ByteStream
            if request.param == "tcp-dial":
                accepted: asyncio.Queue[TcpStream] = asyncio.Queue()

                async def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                    accepted.put_nowait(TcpStream(r, w))

                server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
                stack.push_async_callback(server.wait_closed)
                stack.callback(server.close)
                port = server.sockets[0].getsockname()[1]
                simulator = await AnalyzerSimulator.connect(
                    "127.0.0.1", port, config=SIM, faults=faults, framed=framed
                )
                stream = await accepted.get()
            elif request.param == "tcp-serve":
                serving = AnalyzerSimulator.serve(
                    "127.0.0.1", 0, config=SIM, faults=faults, framed=framed
                )
                listening = await stack.enter_async_context(serving)
                stream = await tcp.connect("127.0.0.1", listening.port)
                simulator = await listening.accepted()
            else:
                pair = stack.enter_context(PtyPair(tmp_path))
                stream = await open_serial(pair.path)
                simulator = AnalyzerSimulator.over_pty(
                    pair, config=SIM, faults=faults, framed=framed
                )
            host = Host(stream, GATEWAY, on_message)
            stack.push_async_callback(host.close)
            stack.push_async_callback(simulator.close)
            return simulator, host

        yield make


async def test_message_arrives_with_every_record(connect: Connect) -> None:
    simulator, host = await connect()
    outcome = await simulator.send(results(), timeout=5)
    assert (outcome.completed, outcome.reason, outcome.naks) == (True, None, 0)
    assert host.messages == [results()]
    last_ack = [at for at, way, data in simulator.wire if way == "in" and data == bytes((ACK,))]
    assert outcome.final_ack_at == last_ack[-1]
    assert host.rejections() == []


async def test_bad_checksum_is_naked_and_the_good_frame_resent(connect: Connect) -> None:
    simulator, host = await connect(faults=Faults(bad_checksum=frozenset({2, 5})))
    outcome = await simulator.send(results(), timeout=5)
    assert outcome.completed
    assert outcome.naks == 2
    assert host.sent().count(NAK) == 2
    assert host.rejections() == ["bad checksum", "bad checksum"]
    assert host.messages == [results()]


async def test_lost_ack_makes_a_resend_that_the_host_acks_and_drops(connect: Connect) -> None:
    simulator, host = await connect(faults=Faults(ignore_ack=frozenset({2})))
    outcome = await simulator.send(results(), timeout=5)
    assert outcome.completed
    assert host.rejections() == ["repeat of the frame before: ACKed, dropped"]
    frames = host.got().count(STX)
    assert frames == len(results()) + 2  # the long comment takes two frames, frame 2 went twice
    assert host.sent().count(ACK) == frames + 1  # and the ENQ
    assert host.messages == [results()]


async def test_cut_frame_gets_no_answer_and_arrives_after_the_sender_timeout(
    connect: Connect,
) -> None:
    simulator, host = await connect(faults=Faults(cut=frozenset({3})))
    started = time.monotonic()
    outcome = await simulator.send(results(), timeout=5)
    assert outcome.completed
    assert outcome.final_ack_at is not None
    assert outcome.final_ack_at - started >= SIM.sender_timeout
    assert host.rejections() == ["frame cut by a control byte"]
    assert NAK not in host.sent()
    assert host.messages == [results()]


async def test_line_noise_before_frames_is_ignored(connect: Connect) -> None:
    simulator, host = await connect(faults=Faults(garbage_before=frozenset({1, 4})))
    outcome = await simulator.send(results(), timeout=5)
    assert (outcome.completed, outcome.naks) == (True, 0)
    assert host.rejections() == ["bytes outside a frame"] * 2
    assert host.messages == [results()]


async def test_slow_analyzer_pauses_before_each_frame(connect: Connect) -> None:
    simulator, host = await connect(faults=Faults(frame_delay_s=0.02))
    records = synthetic_results("SP1", 2, seed=3)
    started = time.monotonic()
    outcome = await simulator.send(records, timeout=5)
    assert outcome.completed
    assert time.monotonic() - started >= len(records) * 0.02
    assert host.messages == [records]


async def test_contention_host_enq_is_answered_by_enq_and_the_instrument_wins(
    connect: Connect,
) -> None:
    simulator, host = await connect(faults=Faults(contend=True))
    sending = asyncio.create_task(simulator.send(results(), timeout=5))
    await asyncio.sleep(0)  # one turn of the loop: the send is queued, held for the host's ENQ
    order = [b"H|\\^&|||LIS", b"O|1|SP000002||^^^GLU|R", b"L|1|N"]
    host.send(order)
    outcome = await sending
    assert outcome.completed
    assert host.messages == [results()]
    got = [data for _, way, data in simulator.wire if way == "in"]
    sent = [data for _, way, data in simulator.wire if way == "out"]
    assert got[0] == bytes((ENQ,))
    assert sent[0] == bytes((ENQ,))  # not ACK: contention
    assert sent[1] == bytes((ENQ,))  # the instrument's retry after its 1 s (here 0.1 s) wait
    await host.until(lambda: any(isinstance(e, SendCompleted) for e in host.events))
    assert simulator.received == [order]  # the host sent after backing off


async def test_query_returns_the_host_reply(connect: Connect) -> None:
    reply = [
        b"H|\\^&|||LIS",
        b"P|1||PT000001",
        b"O|1|SP000001||^^^GLU\\^^^ALT|R",
        b"O|2|SP000002||^^^K|R",
        b"L|1|F",
    ]

    def answer(host: Host, records: list[bytes]) -> None:
        if any(record.startswith(b"Q|") for record in records):
            host.send(reply)

    simulator, host = await connect(on_message=answer)
    assert await simulator.query(["SP000001", "SP000002"], timeout=5) == [reply]
    query = host.messages[0]
    assert query[0].startswith(b"H|\\^&|||WardLinkSim^1.0^SIM001|")
    assert query[1:] == [b"Q|1|^SP000001\\^SP000002||ALL||||||||O", b"L|1|N"]
    assert simulator.received == [reply]


async def test_query_without_an_answer_times_out(connect: Connect) -> None:
    simulator, host = await connect()
    with pytest.raises(TimeoutError):
        await simulator.query(["SP000001"], timeout=0.5)
    assert len(host.messages) == 1


async def test_unframed_sends_bare_records(connect: Connect) -> None:
    simulator, host = await connect(framed=False)
    outcome = await simulator.send(results(), timeout=5)
    assert (outcome.completed, outcome.final_ack_at, outcome.naks) == (True, None, 0)
    expected = b"\r".join(results()) + b"\r"
    await host.until(lambda: len(host.got()) >= len(expected))
    assert host.got() == expected
    assert STX not in host.got()
    assert host.sent() == b""


async def test_unframed_query_returns_bare_reply(connect: Connect) -> None:
    simulator, host = await connect(framed=False)
    asking = asyncio.create_task(simulator.query(["SP9"], timeout=5))
    await host.until(lambda: host.got().endswith(b"L|1|N\r"))
    await host.stream.write(b"H|\\^&|||LIS\r\nO|1|SP9||^^^GLU|R\r\nL|1|F\r\n")
    assert await asking == [[b"H|\\^&|||LIS", b"O|1|SP9||^^^GLU|R", b"L|1|F"]]


async def test_close_ends_a_pending_send_as_failed(connect: Connect) -> None:
    simulator, _ = await connect(faults=Faults(contend=True))
    sending = asyncio.create_task(simulator.send(results(), timeout=5))
    await asyncio.sleep(0)
    await simulator.close()
    outcome = await sending
    assert (outcome.completed, outcome.reason) == (False, "the simulator was closed")
    assert (await simulator.send(results())).completed is False


async def test_unplug_ends_the_connection_and_pending_sends(connect: Connect) -> None:
    simulator, host = await connect(faults=Faults(contend=True))
    sending = asyncio.create_task(simulator.send(results(), timeout=5))
    await asyncio.sleep(0)
    await simulator.unplug()
    async with asyncio.timeout(5):
        await host.eof.wait()
    assert (await sending).completed is False


async def test_every_corpus_message_crosses_the_link(connect: Connect) -> None:
    if not TRANSCRIPTS:
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS}")
    simulator, host = await connect()
    sent = [message for path in TRANSCRIPTS for message in messages_in_file(path)]
    for message in sent:
        assert (await simulator.send(message, timeout=5)).completed
    # A fragment without L is delivered at EOT, which follows the final ACK.
    await host.until(lambda: len(host.messages) == len(sent))
    assert host.messages == sent


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path.name) for path in TRANSCRIPTS]
    or [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {SHARED_CORPUS}"))],
)
def test_corpus_sample_yields_messages_starting_with_h(path: Path) -> None:
    messages = messages_in_file(path)
    if path.name in FRAGMENTS:
        assert messages == FRAGMENTS[path.name]
        return
    assert messages
    assert all(message[0].startswith(b"H|") for message in messages)


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="shared corpus not found")
def test_corpus_shapes_are_read_like_the_gateway_reads_them() -> None:
    def read(name: str) -> list[list[bytes]]:
        return messages_in_file(SHARED_CORPUS / name)

    # The framed stream was built from the record text: both readings agree.
    framed = read("astm_phadia_results_framed_sender_stream.bin")
    assert framed == read("astm_phadia_immunocap_lis2_results.astm")
    beckman = read("astm_beckman_access_dxi_record_examples.astm")
    assert [message[0][:2] for message in beckman] == [b"H|", b"H|"]  # "1H|" digit stripped
    assert beckman[1][2].startswith(b"Q|1|^Samp45")
    aqualink = read("astm_aqualink_a9000p_query_response_results_single_frame.bin")
    assert [message[-1] for message in aqualink] == [b"L|1|N", b"L|1|F|", b"L|1|N"]
    (hitachi,) = read("astm_roche_hitachi_h7600_qc_multirecord_frames_etb_midfield.bin")
    assert b"R|1|^^^798/|4.60|mmol/l||A||||ADMIN |||P1" in hitachi  # joined across the ETB
    session = read("astm_session_transcript_nak_contention_interrupt.jsonl")
    assert [len(message) for message in session] == [3, 1]  # bad frame and resend kept once
    galileo = read("astm_immucor_galileo_echo_bloodbank_results_lf.astm")
    assert all(b"\n" not in record for message in galileo for record in message)


def test_synthetic_results_shape() -> None:
    records = synthetic_results("SP000042", 3, seed=1)
    assert records[0].startswith(b"H|\\^&|||WardLinkSim^1.0^SIM001|||||||P|LIS2-A2|")
    assert records[1].startswith(b"P|1||PT")
    assert records[1].decode("utf-8").split("|")[5].isupper()
    assert records[2].startswith(b"O|1|SP000042||^^^GLU\\^^^ALT\\^^^AST|R||")
    assert records[2].endswith(b"||||N||||Serum||||||||||F")
    assert [record.split(b"|")[2] for record in records[3:6]] == [
        b"^^^GLU",
        b"^^^ALT",
        b"^^^AST",
    ]
    assert records[-1] == b"L|1|N"
    with pytest.raises(ValueError, match="n_results"):
        synthetic_results("SP1", 0)
