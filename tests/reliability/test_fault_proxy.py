"""A bad network, on purpose: the fault proxy itself, then the gateway behind it.

First the proxy with plain sockets (bytes pass, latency holds bytes back in order, cut closes,
blackhole swallows, a paused direction fills the sender's buffers, refused connects fail). Then
acceptance 4: the proxy between the gateway and Mosquitto, and between an analyzer and the
gateway. The gateway runs as its own process and recovers from every fault without a restart
(same PID); everything a device was acknowledged for arrives; an alarm raised while the broker
link is down overtakes the backlog once it is back.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ConsumerProcess, async_wait_for, write_config
from tests.hardware_sim.broker import Mosquitto, free_port, wait_for_port
from tests.hardware_sim.fault_proxy import FaultProxy
from tests.hardware_sim.hl7_sender import Hl7Sender
from tests.hardware_sim.monitor import SimulatedBed
from tests.reliability.accounting import Accounting, account, specimen_key
from tests.reliability.kill_harness import (
    ANALYZER,
    GatewayProcess,
    StreamingAnalyzer,
    analyzer_device,
    stored_twice,
)
from tests.reliability.proxy_peers import Upstream, read_until_closed


async def open_through(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def test_bytes_pass_both_ways_unchanged() -> None:
    blob = os.urandom(1_000_000)
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        reader, writer = await open_through(proxy)
        writer.write(blob)
        peer = await upstream.peer()
        await async_wait_for(lambda: len(peer.received) == len(blob), 10, "bytes upstream")
        assert peer.received == blob
        peer.writer.write(blob[::-1])
        assert await reader.readexactly(len(blob)) == blob[::-1]
        writer.write_eof()  # a FIN goes through too; the other direction stays open
        await async_wait_for(lambda: peer.eof, 10, "FIN upstream")
        peer.writer.write(b"still open")
        assert await reader.readexactly(10) == b"still open"
        writer.close()


async def test_latency_holds_bytes_back_in_order_in_one_direction_only() -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        reader, writer = await open_through(proxy)
        peer = await upstream.peer()
        proxy.latency(3600.0, "up")  # an hour: nothing can leak through while we look
        writer.write(b"first ")
        writer.write(b"second")
        up = proxy.toxics["up"]
        await async_wait_for(lambda: up.held == 12, 10, "the proxy read the bytes")
        peer.writer.write(b"down is not delayed")
        assert await reader.readexactly(19) == b"down is not delayed"
        assert peer.received == b""
        assert up.forwarded == 0
        proxy.latency(0.0, "up")  # held bytes go at once, in the order they came
        await async_wait_for(lambda: peer.received == b"first second", 10, "held bytes")
        writer.close()


async def test_bandwidth_limit_paces_and_lifting_it_releases_the_rest() -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        proxy.bandwidth(1000)  # 1 kB/s: 20 kB would take 20 s
        _, writer = await open_through(proxy)
        blob = os.urandom(20_000)
        writer.write(blob)
        peer = await upstream.peer()
        up = proxy.toxics["up"]
        await async_wait_for(lambda: up.held + up.forwarded == len(blob), 10, "read by the proxy")
        assert len(peer.received) < len(blob)
        proxy.bandwidth(None)
        await async_wait_for(lambda: peer.received == blob, 10, "the rest")
        writer.close()


@pytest.mark.parametrize(("reset", "how"), [(True, "reset"), (False, "fin")])
async def test_cut_closes_both_sides(reset: bool, how: str) -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        reader, writer = await open_through(proxy)
        writer.write(b"hello")
        peer = await upstream.peer()
        await async_wait_for(lambda: peer.received == b"hello", 10, "bytes upstream")
        assert proxy.cut(reset=reset) == 1
        assert await read_until_closed(reader) == (b"", how)
        await async_wait_for(lambda: peer.eof or peer.reset, 10, "upstream side closed")
        assert peer.reset == reset
        assert not proxy.links
        writer.close()
        # The proxy itself still works: a new connection passes.
        _, again = await open_through(proxy)
        again.write(b"again")
        second = await upstream.peer(1)
        await async_wait_for(lambda: second.received == b"again", 10, "new connection")
        again.close()


async def test_blackhole_swallows_bytes_and_fin_then_resets_what_it_damaged() -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        reader, writer = await open_through(proxy)
        peer = await upstream.peer()
        proxy.set_blackhole(True)
        writer.write(b"into the void")
        writer.write_eof()
        peer.writer.write(b"nor this way")
        await async_wait_for(lambda: proxy.swallowed == 25, 10, "bytes swallowed")
        assert peer.received == b""
        assert not peer.eof, "a half-open link passes no FIN"
        assert len(proxy.links) == 1, "the sockets stay open"
        proxy.set_blackhole(False)  # the path is back: the damaged stream is reset
        assert await read_until_closed(reader) == (b"", "reset")
        await async_wait_for(lambda: peer.reset, 10, "upstream reset")
        writer.close()
        _, fresh = await open_through(proxy)
        fresh.write(b"fresh")
        second = await upstream.peer(1)
        await async_wait_for(lambda: second.received == b"fresh", 10, "new connection")
        fresh.close()


async def test_a_paused_direction_fills_the_senders_buffers() -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        proxy.pause("up")
        _, writer = await open_through(proxy)
        blob = os.urandom(16_000_000)  # more than every socket buffer on the way can hold
        writer.write(blob)
        drained = asyncio.create_task(writer.drain())
        peer = await upstream.peer()
        await async_wait_for(
            lambda: writer.transport.get_write_buffer_size() > 0, 10, "sender buffering"
        )
        assert not drained.done()
        assert peer.received == b""
        proxy.resume("up")
        await drained
        await async_wait_for(lambda: len(peer.received) == len(blob), 30, "everything")
        assert peer.received == blob
        writer.close()


async def test_refused_connections_fail_while_open_ones_carry_on() -> None:
    async with Upstream() as upstream, FaultProxy(0, "127.0.0.1", upstream.port) as proxy:
        _, writer = await open_through(proxy)
        peer = await upstream.peer()
        await proxy.refuse(True)
        with pytest.raises(ConnectionRefusedError):
            await open_through(proxy)
        writer.write(b"open one")
        await async_wait_for(lambda: peer.received == b"open one", 10, "open connection")
        await proxy.refuse(False)
        _, second = await open_through(proxy)
        second.close()
        writer.close()


# -- acceptance 4: the gateway behind the proxy ------------------------------------------------

KEEPALIVE_S = 5  # the smallest the settings allow: a dead broker link is noticed in ~10 s
SEED = 20261125


def mqtt_url(proxy: FaultProxy) -> str:
    return f"mqtt://127.0.0.1:{proxy.port}"


@asynccontextmanager
async def gateway_process(
    tmp_path: Path, broker_url: str, devices: str, **mqtt: Any
) -> AsyncIterator[GatewayProcess]:
    """The gateway in its own process; on the way out, check it never restarted."""
    config = write_config(
        tmp_path / "gw", broker_url, mqtt={"keepalive_s": KEEPALIVE_S, **mqtt}, devices=devices
    )
    with GatewayProcess(config, tmp_path / "gateway.log") as gateway:
        gateway.start()
        await asyncio.to_thread(gateway.wait_up)
        pid = gateway.pid
        yield gateway
        assert gateway.running, f"the gateway died:\n{gateway.log_tail()}"
        assert gateway.pid == pid
        assert await asyncio.to_thread(gateway.stop) == 0, gateway.log_tail()


async def metric_becomes(
    gateway: GatewayProcess, name: str, value: float, timeout_s: float, labels: str = ""
) -> None:
    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(gateway.metric, name, labels) != value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} never became {value}:\n{gateway.log_tail()}")
        await asyncio.sleep(0.2)


async def redialled(proxy: FaultProxy, before: int) -> None:
    """The gateway opened a new connection through the proxy (``accepted`` was ``before``)."""
    await async_wait_for(lambda: proxy.accepted > before, 30, "the gateway redials")


async def everything_arrives(consumer: ConsumerProcess, analyzer: StreamingAnalyzer) -> Accounting:
    acked = set(analyzer.acked)
    await async_wait_for(
        lambda: acked <= {specimen_key(e) for e in consumer.envelopes()}, 90, "every ACKed result"
    )
    result = account({ANALYZER: analyzer.acked}, consumer.envelopes())
    assert result.lost_total == 0, result.lost
    assert result.gaps == {}, result.gaps
    return result


async def test_latency_bandwidth_and_cuts_on_the_broker_link_need_no_restart(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    rng = random.Random(SEED)
    port = free_port()
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        async with (
            FaultProxy(0, mosquitto.host, mosquitto.port) as proxy,
            gateway_process(tmp_path, mqtt_url(proxy), analyzer_device(port)),
        ):
            analyzer = StreamingAnalyzer("127.0.0.1", port, pace_s=0.01).start(100_000)
            try:
                proxy.latency(0.15)
                proxy.bandwidth(20_000)  # ~10 envelopes/s: a backlog builds up behind it
                await analyzer.acked_more(30)
                await async_wait_for(lambda: len(consumer.ids()) >= 5, 30, "the slow link")
                for reset in (True, False, True):
                    await asyncio.sleep(rng.uniform(0.0, 0.5))
                    dialled = proxy.accepted
                    assert proxy.cut(reset=reset) == 1
                    await redialled(proxy, dialled)
                    await analyzer.acked_more(10)
                await proxy.heal()
                await analyzer.acked_more(10)
            finally:
                await analyzer.stop()
            result = await everything_arrives(consumer, analyzer)
        summary = consumer.stop()
    print(
        f"\nbroker link, 150 ms + 20 kB/s + 3 cuts: {result.report()}; consumer saw "
        f"{summary['duplicates']} re-sent envelopes; broker connections {proxy.accepted}"
    )


@pytest.mark.parametrize("fault", ["half-open", "broker stops reading"])
async def test_a_dead_broker_link_is_noticed_by_keepalive_and_recovered(
    tmp_path: Path, mosquitto: Mosquitto, fault: str
) -> None:
    port = free_port()
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        async with (
            FaultProxy(0, mosquitto.host, mosquitto.port) as proxy,
            gateway_process(tmp_path, mqtt_url(proxy), analyzer_device(port)) as gateway,
        ):
            analyzer = StreamingAnalyzer("127.0.0.1", port, pace_s=0.02).start(100_000)
            try:
                await analyzer.acked_more(10)
                await async_wait_for(lambda: len(consumer.ids()) >= 5, 30, "forwarding")
                dialled = proxy.accepted
                began = time.monotonic()
                if fault == "half-open":
                    proxy.set_blackhole(True)  # no FIN, no RST: only keepalive can tell
                else:
                    proxy.pause("up")  # the gateway's bytes pile up in its socket buffers
                await metric_becomes(gateway, "wardlink_broker_connected", 0, 60)
                noticed_s = time.monotonic() - began
                await redialled(proxy, dialled)
                await analyzer.acked_more(10)  # devices are still answered: disk, not broker
                stalled = len(consumer.ids())
                await proxy.heal()
                await metric_becomes(gateway, "wardlink_broker_connected", 1, 30)
                await analyzer.acked_more(10)
            finally:
                await analyzer.stop()
            result = await everything_arrives(consumer, analyzer)
        summary = consumer.stop()
    assert stalled < result.received
    print(
        f"\nbroker link {fault}: noticed after {noticed_s:.1f} s (keepalive {KEEPALIVE_S} s); "
        f"{result.report()}; consumer saw {summary['duplicates']} re-sent envelopes"
    )


async def test_latency_cuts_and_a_half_open_analyzer_link(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        async with (
            gateway_process(tmp_path, mosquitto.url, analyzer_device(port)) as gateway,
            FaultProxy(0, "127.0.0.1", port) as proxy,
        ):
            analyzer = StreamingAnalyzer("127.0.0.1", proxy.port).start(100_000)
            try:
                # E1381 waits for an ACK after every frame: 100 ms of round trip costs about a
                # second per message, and stays well under the analyzer's 1 s reply timer.
                proxy.latency(0.05)
                await analyzer.acked_more(3)
                for reset in (True, False):
                    proxy.cut(reset=reset)
                    await analyzer.acked_more(3)
                failed = sum(analyzer.failures.values())
                proxy.set_blackhole(True)  # the analyzer hears nothing back: no ACK, no FIN
                await async_wait_for(
                    lambda: sum(analyzer.failures.values()) > failed, 30, "analyzer gives up"
                )
                proxy.set_blackhole(False)  # the stale connections are reset both ways
                await analyzer.acked_more(3)
                await proxy.heal()
                await analyzer.acked_more(10)
            finally:
                await analyzer.stop()
            result = await everything_arrives(consumer, analyzer)
            # The analyzer is off: no stale connection from the half-open spell counts as live.
            labels = f'device="{ANALYZER}"'
            await metric_becomes(gateway, "wardlink_device_connected", 0, 30, labels)
        summary = consumer.stop()
    twice = stored_twice(consumer.envelopes())
    print(
        f"\nanalyzer link, 50 ms + 2 cuts + half-open: {result.report()}; consumer saw "
        f"{summary['duplicates']} re-sent envelopes; specimens stored twice {len(twice)}; "
        f"analyzer {analyzer.summary()}"
    )


async def test_every_broker_outage_is_reported_and_starts_over_from_the_shortest_delay(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """A long outage grows the reconnect delay; once connected again, the next outage must
    start over from ``reconnect_min_s``. Both come from one counter of failed attempts, and
    the log line "unavailable" is written when it is zero: once per outage, not per retry."""
    async with (
        FaultProxy(0, mosquitto.host, mosquitto.port) as proxy,
        gateway_process(
            tmp_path, mqtt_url(proxy), "", reconnect_min_s=0.1, reconnect_max_s=30.0
        ) as gateway,
    ):
        await metric_becomes(gateway, "wardlink_broker_connected", 1, 30)
        await proxy.refuse(True)
        proxy.cut()
        await metric_becomes(gateway, "wardlink_broker_connected", 0, 30)
        await asyncio.sleep(3)  # a few failed attempts: the delay grows towards 3 s
        await proxy.refuse(False)
        await redialled(proxy, proxy.accepted)
        await metric_becomes(gateway, "wardlink_broker_connected", 1, 60)
        dialled = proxy.accepted
        proxy.cut()  # a second outage, a short one
        await redialled(proxy, dialled)  # logged before the gateway dialled again
        outages = gateway.log.read_text().count("unavailable, buffering to disk")
    assert outages == 2, gateway.log_tail()


STATION = "central-station"
BEDS = 10
VITALS_PER_BED = 100


def control_id(envelope: dict[str, Any]) -> str | None:
    """MSH-10 of the HL7 message an envelope came from (its ``raw``)."""
    raw = envelope.get("raw")
    return raw["data"].split("|")[9] if raw else None


async def every_message_arrives(consumer: ConsumerProcess, acked: list[str]) -> Accounting:
    keys = set(acked)
    await async_wait_for(
        lambda: keys <= {control_id(e) for e in consumer.envelopes()}, 90, "every ACKed message"
    )
    result = account({STATION: acked}, consumer.envelopes(), key_of=control_id)
    assert result.lost_total == 0, result.lost
    assert result.gaps == {}, result.gaps
    return result


async def test_an_alarm_overtakes_the_backlog_when_a_cut_broker_link_returns(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    devices = (
        f'[[devices]]\nid = "{STATION}"\nkind = "hl7-monitor"\n'
        f'connection = "listen://127.0.0.1:{port}"\n'
    )
    beds = [
        SimulatedBed(f"Bed{n:02d}", f"PT-{n:04d}", "PHẠM^MINH^ĐỨC", random.Random(n))
        for n in range(1, BEDS + 1)
    ]
    acked: list[str] = []

    async def send(sender: Hl7Sender, message: bytes) -> None:
        ack = await sender.send(message)
        assert ack.code in ("CA", "AA"), ack
        acked.append(ack.control_id)

    async def bed_monitor(bed: SimulatedBed, sender: Hl7Sender, count: int) -> None:
        for _ in range(count):
            bed.step()
            await send(sender, bed.vitals())

    with ConsumerProcess(tmp_path, mosquitto.url) as consumer:
        async with (
            FaultProxy(0, mosquitto.host, mosquitto.port) as proxy,
            gateway_process(tmp_path, mqtt_url(proxy), devices) as gateway,
        ):
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
            senders = [await Hl7Sender.connect("127.0.0.1", port) for _ in beds]
            monitors = list(zip(beds, senders, strict=True))
            try:
                await asyncio.gather(*(bed_monitor(b, s, 2) for b, s in monitors))
                await async_wait_for(lambda: len(consumer.ids()) == 2 * BEDS, 30, "live vitals")
                await proxy.refuse(True)  # the broker link goes down and stays down
                proxy.cut()
                await metric_becomes(gateway, "wardlink_broker_connected", 0, 30)
                await asyncio.gather(*(bed_monitor(b, s, VITALS_PER_BED) for b, s in monitors))
                beds[6].values["150456"] = 82.0  # bed 7's SpO2 falls: its monitor alarms
                alarms = beds[6].alarms()
                for alarm in alarms:
                    await send(senders[6], alarm)
            finally:
                for sender in senders:
                    await sender.close()
            before = len(consumer.ids())
            await proxy.refuse(False)  # the link is back: alarm first, then the backlog
            result = await every_message_arrives(consumer, acked)
        summary = consumer.stop()
    arrived = consumer.envelopes()[before:]
    kinds = [e["payload"]["kind"] for e in arrived]
    position = kinds.index("alarm")
    backlog = BEDS * VITALS_PER_BED
    print(
        f"\nalarm raised behind {backlog} vitals on a cut broker link: arrived at position "
        f"{position} after the link returned; {result.report()}; the consumer reported "
        f"{sum(summary['sequence_late'].values())} envelopes late (the backlog the alarm passed)"
    )
    assert summary["sequence_gaps"] == {}
    assert position < backlog // 2, "the alarm waited behind the backlog"
    assert len(arrived) == backlog + len(alarms)
