"""Typed construction of paho MQTT 5 property sets (paho's constructor is untyped)."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def connect_properties(session_expiry_s: int) -> Properties:
    """CONNECT properties asking the broker to keep our session across disconnects."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry_s
    return props


def publish_properties(digest_hex: str) -> Properties:
    """PUBLISH properties carrying the payload digest so a consumer can verify it."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = "application/json"
    props.UserProperty = [("wardlink-sha256", digest_hex)]
    return props
