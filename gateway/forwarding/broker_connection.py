"""Connecting to the broker: client settings, the persistent session, MQTT 5 → 3.1.1 fallback."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

import aiomqtt
import paho.mqtt.client as paho_mqtt
from aiomqtt.exceptions import MqttConnectError

from gateway.forwarding.mqtt_properties import connect_properties

_UNSUPPORTED_PROTOCOL = (1, 132)  # CONNACK: 3.1.1 "refused, protocol version", MQTT 5 0x84
_SESSION_EXPIRY_S = 7 * 86400


@dataclass(frozen=True)
class ForwarderConfig:
    host: str
    port: int
    client_id: str
    protocol: str = "auto"  # "auto" (5, falling back to 3.1.1), "5" or "3.1.1"
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    keepalive_s: int = 30
    window: int = 64
    end_to_end: bool = False
    resend_unacked_after_s: float = 60.0
    refused_retry_s: float = 30.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    prefetch: int = 500


def make_client(
    cfg: ForwarderConfig, protocol: aiomqtt.ProtocolVersion, will: aiomqtt.Will
) -> aiomqtt.Client:
    """A client with a persistent session, so the broker keeps our subscriptions (the ack topic)."""
    v5 = protocol is aiomqtt.ProtocolVersion.V5
    return aiomqtt.Client(
        cfg.host,
        cfg.port,
        identifier=cfg.client_id,
        protocol=protocol,
        clean_session=None if v5 else False,
        clean_start=False if v5 else paho_mqtt.MQTT_CLEAN_START_FIRST_ONLY,
        properties=connect_properties(_SESSION_EXPIRY_S) if v5 else None,
        username=cfg.username,
        password=cfg.password,
        tls_context=cfg.tls,
        keepalive=cfg.keepalive_s,
        will=will,
        max_inflight_messages=cfg.window,
        timeout=5,
    )


async def broker_refused_mqtt5(cfg: ForwarderConfig, exc: BaseException) -> bool:
    """Did a reachable broker turn down our MQTT 5 CONNECT (rather than being down)?

    A broker may answer 0x84 (unsupported protocol) or, like amqtt, just drop the connection;
    either way its TCP port answers, which tells it apart from an outage.
    """
    if isinstance(exc, MqttConnectError):
        return exc.rc in _UNSUPPORTED_PROTOCOL
    try:
        async with asyncio.timeout(5):
            _, writer = await asyncio.open_connection(cfg.host, cfg.port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
