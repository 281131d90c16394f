"""Every Prometheus metric of the gateway, defined in one place.

Names follow ``wardlink_<subsystem>_<name>_<unit>``; labels are ``device`` and ``kind`` (and the
bounded ``record_type`` of ASTM records), never patient data. Children are bound once per
(device, kind) because ``labels()`` lookups cost ~2 µs on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.messages_in = Counter(
            "wardlink_intake_messages_total",
            "Events committed to the outbox",
            ["device", "kind"],
            registry=r,
        )
        self.unmapped = Counter(
            "wardlink_unmapped_codes_total",
            "Results forwarded with a local test code the code map does not know: rows to add "
            "(the codes: GET /api/unmapped-codes or `wardlink unmapped`; never a label)",
            ["device"],
            registry=r,
        )
        self.results_without_code = Counter(
            "wardlink_results_without_code_total",
            "Results forwarded flagged NO_CODE: the device sent no test code where its dialect "
            "reads one (often a wrong dialect)",
            ["device", "kind"],
            registry=r,
        )
        self.astm_unread_fields = Counter(
            "wardlink_astm_unread_fields_total",
            "Non-empty ASTM fields no rule of the device's dialect read (a moved field or a "
            "wrong dialect); record_type is H, P, O, R, C, Q, M, L or S",
            ["device", "record_type"],
            registry=r,
        )
        self.qc_ambiguous = Counter(
            "wardlink_qc_ambiguous_total",
            "Results sent as qc_result on the safe side: their QC marks disagreed, or the "
            "dialect could not vouch for the only one (e.g. MSH-11 T from an unknown sender)",
            ["device", "role"],
            registry=r,
        )
        self.rejected = Counter(
            "wardlink_intake_rejected_total",
            "Malformed device input, answered negatively and kept for inspection",
            ["device"],
            registry=r,
        )
        self.rejects_unkept = Counter(
            "wardlink_intake_rejected_unkept_total",
            "Rejected input counted but not kept under rejected/ (reason: queue full, budget, "
            "disk, error)",
            ["reason"],
            registry=r,
        )
        self.refused = Counter(
            "wardlink_intake_refused_total",
            "Events refused because the store could not commit them (quota, disk, error)",
            ["device"],
            registry=r,
        )
        self.connections_dropped = Counter(
            "wardlink_connections_dropped_total",
            "Device connections closed or refused by a limit: reason is one of "
            "cap_evicted_idle, cap_refused, idle_timeout, message_deadline",
            ["device", "kind", "reason"],
            registry=r,
        )
        self.messages_out = Counter(
            "wardlink_forward_messages_total",
            "Envelopes the broker confirmed (PUBACK success)",
            ["device", "kind"],
            registry=r,
        )
        self.broker_refusals = Counter(
            "wardlink_forward_refused_total",
            "Publishes the broker answered with an MQTT 5 reason code >= 0x80; kept pending",
            ["device"],
            registry=r,
        )
        self.e2e_acked = Counter(
            "wardlink_forward_acknowledged_total",
            "Envelopes confirmed end to end by the central consumer",
            registry=r,
        )
        self.forward_lag = Histogram(
            "wardlink_forward_lag_seconds",
            "From commit to broker confirmation",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.commit_latency = Histogram(
            "wardlink_store_commit_seconds",
            "Duration of one group commit (one fsync)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.commit_batch = Histogram(
            "wardlink_store_commit_batch_size",
            "Envelopes sharing one commit",
            buckets=(1, 2, 5, 10, 50, 100, 500, 1000, 2000),
            registry=r,
        )
        self.outbox_pending = Gauge(
            "wardlink_outbox_pending", "Envelopes waiting to be forwarded", registry=r
        )
        self.outbox_unacked = Gauge(
            "wardlink_outbox_sent_unacknowledged",
            "Envelopes sent but not yet confirmed end to end",
            registry=r,
        )
        self.outbox_oldest = Gauge(
            "wardlink_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending envelope (0 when none)",
            registry=r,
        )
        self.outbox_quarantined = Gauge(
            "wardlink_outbox_quarantined",
            "Stored envelopes whose digest did not match: kept for inspection, never sent",
            registry=r,
        )
        self.outbox_bytes = Gauge(
            "wardlink_outbox_used_bytes", "Bytes the outbox occupies", registry=r
        )
        self.outbox_quota = Gauge(
            "wardlink_outbox_quota_bytes", "Configured outbox quota", registry=r
        )
        self.store_full = Gauge(
            "wardlink_store_full", "1 while new events are refused for lack of space", registry=r
        )
        self.broker_connected = Gauge(
            "wardlink_broker_connected", "1 while connected to the MQTT broker", registry=r
        )
        self.broker_protocol = Gauge(
            "wardlink_broker_protocol_version",
            "MQTT protocol in use (5 or 4 for 3.1.1; 0 when disconnected)",
            registry=r,
        )
        self.device_up = Gauge(
            "wardlink_device_connected", "1 while the device is connected", ["device"], registry=r
        )
        self.device_enabled = Gauge(
            "wardlink_device_enabled",
            "1 while the gateway runs the device; 0 when it is disabled in the configuration or "
            "stopped at runtime (a disconnected device reads 1 here and 0 as connected)",
            ["device"],
            registry=r,
        )
        self.device_last_message = Gauge(
            "wardlink_device_last_message_timestamp_seconds",
            "Unix time of the device's last committed message of this kind, as the kind label of "
            "wardlink_intake_messages_total (absent: none since the gateway started)",
            ["device", "kind"],
            registry=r,
        )
        self.broker_input_rejected = Counter(
            "wardlink_broker_input_rejected_total",
            "Broker messages dropped unread: topic_kind ack|query_reply|other, reason from "
            "gateway.forwarding.broker_input.Reason (too_large, too_deep, not_json, bad_shape, "
            "unsigned, bad_signature, unexpected, wrong_device, unknown_topic)",
            ["topic_kind", "reason"],
            registry=r,
        )
        self.forward_stalled = Gauge(
            "wardlink_forward_stalled_seconds",
            "How long rows have been pending on a connected broker with no PUBACK or ack "
            "(0 while the forwarder makes progress); past [mqtt] stall_after_s /healthz fails",
            registry=r,
        )
        self.tasks_stuck = Gauge(
            "wardlink_tasks_stuck",
            "Gateway tasks that did not finish when cancelled and were left behind; "
            "any makes /healthz fail",
            registry=r,
        )
        self.task_join_timeouts = Counter(
            "wardlink_task_join_timeouts_total",
            "Tasks that did not finish within their join timeout when cancelled",
            ["task"],
            registry=r,
        )
        self._children: dict[tuple[str, str, str], Counter] = {}

    def bound(self, counter: Counter, device: str, kind: str) -> Counter:
        """A counter child bound once per (metric, device, kind)."""
        key = (counter._name, device, kind)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(device=device, kind=kind)
        return child
