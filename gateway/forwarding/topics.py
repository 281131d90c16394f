"""Topic builder for the MQTT contract (docs/mqtt-contract.md).

Every topic lives under ``{root}/{site}/{ward}/{gateway}``; device ids and event kinds name the
rest. Patient data never appears in a topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# Event kind -> the topic segment it is published under.
KIND_SEGMENTS: dict[str, str] = {
    "lab_result": "lab",
    "qc_result": "qc",
    "vital_signs": "vitals",
    "alarm": "alarm",
    "identification": "ident",
    "environment_reading": "env",
    "order_query": "query",
    "device_status": "device-events",
}


class Lane(IntEnum):
    """Forwarding lanes; a lower value always goes first."""

    ALARM = 0
    NORMAL = 1


URGENT_KINDS = frozenset({"alarm", "order_query"})
"""Kinds that take the alarm lane: a nurse waits for an alarm, an analyzer for its orders
(it gives up after its own timeout), so neither may queue behind a backlog."""


def lane_for(kind: str) -> Lane:
    return Lane.ALARM if kind in URGENT_KINDS else Lane.NORMAL


@dataclass(frozen=True)
class Topics:
    root: str
    site: str
    ward: str
    gateway_id: str

    @property
    def base(self) -> str:
        return f"{self.root}/{self.site}/{self.ward}/{self.gateway_id}"

    def event(self, kind: str, device_id: str) -> str:
        return f"{self.base}/{KIND_SEGMENTS[kind]}/{device_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    def device_status(self, device_id: str) -> str:
        return f"{self.base}/device/{device_id}/status"

    def query_reply(self, device_id: str) -> str:
        """Where the centre answers a device's ``order_query`` (centre → gateway)."""
        return f"{self.base}/query-reply/{device_id}"

    @property
    def query_replies(self) -> str:
        """The gateway's subscription for every device's query answers."""
        return f"{self.base}/query-reply/+"

    @property
    def ack(self) -> str:
        return f"{self.base}/ack"

    def all_events(self) -> list[str]:
        """Subscriptions a central consumer needs for every event of this gateway."""
        return [f"{self.base}/{segment}/+" for segment in KIND_SEGMENTS.values()]
