"""Broker refusals of our publishes (PUBACK reason code >= 0x80): counted, and said once.

A refused row stays pending and is retried every ``refused_retry_s``; the usual cause is the
broker's ACL for this gateway, which only an operator can fix, so the log names topic and reason.
"""

from __future__ import annotations

import logging

from paho.mqtt.reasoncodes import ReasonCode

from edge_store import StoredEntry
from gateway.metrics import Metrics

log = logging.getLogger("wardlink.forwarder")


class BrokerRefusals:
    """Counts refusals per device and logs each (topic, reason) once."""

    def __init__(self, metrics: Metrics, retry_s: float) -> None:
        self._metrics = metrics
        self._retry_s = retry_s
        self._logged: set[tuple[str, int]] = set()

    def note(self, row: StoredEntry, reason: ReasonCode) -> None:
        self._metrics.broker_refusals.labels(device=row.device).inc()
        if (row.topic, reason.value) in self._logged:
            return  # once per topic and reason: retries every 30 s must not flood the log
        self._logged.add((row.topic, reason.value))
        log.warning(
            "broker refused envelope %s on %s: %s (0x%02X); kept pending, retried "
            "every %.0f s (check the broker ACL for this gateway)",
            row.id,
            row.topic,
            reason.getName(),
            reason.value,
            self._retry_s,
        )
