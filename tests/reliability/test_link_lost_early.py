"""A broker link lost in the first milliseconds still reads as lost.

The CI caught it once by chance: the fault proxy cut the link while the gateway was publishing
its "online" status, right after CONNACK. That publish ran outside the block that resets
``wardlink_broker_connected``, so the gauge stayed 1 for the rest of the outage while nothing
was forwarded. Here a broker of a few lines makes that timing certain: it accepts the first
connection and drops it at the first PUBLISH, then never answers again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.harness import write_config
from tests.reliability.kill_harness import GatewayProcess

CONNACK_MQTT5 = bytes([0x20, 0x03, 0x00, 0x00, 0x00])  # session absent, success, no properties
PUBLISH = 0x30


class DropsAtFirstPublish:
    """Answer the first CONNECT, close on its first PUBLISH; later connections hang."""

    def __init__(self) -> None:
        self.connections = 0
        self.dropped = asyncio.Event()
        self._held: list[asyncio.StreamWriter] = []

    async def on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections > 1:
            self._held.append(writer)  # a broker that accepts TCP and never says CONNACK
            return
        await reader.read(1)  # CONNECT's first byte; the rest is irrelevant here
        writer.write(CONNACK_MQTT5)
        while (first := await reader.read(1)) and first[0] & 0xF0 != PUBLISH:
            pass  # skip whatever comes before the status publish, byte by byte
        writer.transport.abort()  # a reset, like a cut link
        self.dropped.set()

    def close(self) -> None:
        for writer in self._held:
            writer.transport.abort()


async def test_a_link_lost_while_announcing_online_sets_connected_to_zero(
    tmp_path: Path,
) -> None:
    broker = DropsAtFirstPublish()
    server = await asyncio.start_server(broker.on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = write_config(
        tmp_path / "gw",
        f"mqtt://127.0.0.1:{port}",
        mqtt={"keepalive_s": 5, "protocol": "5", "reconnect_min_s": 0.1},
        devices="",
    )
    try:
        with GatewayProcess(config, tmp_path / "gateway.log") as gateway:
            gateway.start()
            await asyncio.to_thread(gateway.wait_up)
            await asyncio.wait_for(broker.dropped.wait(), 30)
            # Settle: the gateway redials and hangs on the silent broker; the gauge must read 0.
            while broker.connections < 2:
                await asyncio.sleep(0.1)
            connected = await asyncio.to_thread(gateway.metric, "wardlink_broker_connected", "")
            assert connected == 0, gateway.log_tail()
            assert "unavailable, buffering to disk" in gateway.log.read_text()
            assert await asyncio.to_thread(gateway.stop) == 0, gateway.log_tail()
    finally:
        broker.close()
        server.close()
