"""The composition root: store, pipeline, forwarder, control surface and device supervisor.

Shutdown on SIGTERM/SIGINT: stop intake (stop every device, close the pipeline), let queued
commits finish, drain in-flight publishes, publish the retained ``offline`` status, disconnect,
close the store. A device runner that crashes is restarted with backoff; only config errors stop
the gateway. Devices can be started and stopped at runtime through ``Gateway.devices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import time
from pathlib import Path

from edge_store import AsyncOutbox, Durability, Outbox
from gateway.config.inventory import DeviceSettings
from gateway.config.settings import Settings
from gateway.devices.api import DevicesApi
from gateway.devices.overrides import DeviceOverrides, disabled_names
from gateway.devices.registry import device_kind
from gateway.devices.reload import Reloader, ReloadOutcome
from gateway.devices.supervisor import DeviceSupervisor
from gateway.forwarding.broker_connection import ForwarderConfig
from gateway.forwarding.forwarder import Forwarder
from gateway.forwarding.progress_watchdog import ForwarderLiveness
from gateway.forwarding.query_desk import QueryDesk
from gateway.forwarding.topics import Topics
from gateway.http import ControlServer, Verdict
from gateway.metrics import Metrics
from gateway.pid_file import pid_file
from gateway.pipeline import DeviceInfo, Pipeline
from gateway.rejects import RejectArchive
from gateway.status import StatusBoard
from gateway.task_joins import TaskJoins

log = logging.getLogger("wardlink.daemon")

_STATS_PERIOD_S = 2.0
_PRUNE_PERIOD_S = 600.0
_LIVENESS_LIMIT_S = 60.0
_TASK_STOP_S = 10.0
_FORWARDER_STOP_S = 20.0
"""Drain in-flight publishes (5 s) and join the session's tasks (5 s), with room to spare."""


def open_outbox(settings: Settings, *, owner: bool = False) -> Outbox:
    store = settings.store
    Path(store.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Outbox(
        Path(store.path),
        durability=Durability(store.durability),
        quota_bytes=store.outbox_quota_bytes,
        min_free_bytes=store.min_free_mb * 1024 * 1024,
        retention_s=store.retention_hours * 3600,
        end_to_end=settings.mqtt.end_to_end_ack,
        owner=owner,
    )


def forwarder_config(settings: Settings) -> ForwarderConfig:
    mqtt = settings.mqtt
    tls = None
    if mqtt.tls:
        tls = ssl.create_default_context(cafile=mqtt.ca_file)
        if mqtt.cert_file:
            tls.load_cert_chain(mqtt.cert_file, mqtt.key_file, mqtt.resolved_key_passphrase())
    return ForwarderConfig(
        host=mqtt.host,
        port=mqtt.port,
        client_id=mqtt.effective_client_id(settings.gateway.id),
        protocol=mqtt.protocol,
        username=mqtt.username,
        password=mqtt.resolved_password(),
        tls=tls,
        keepalive_s=mqtt.keepalive_s,
        window=mqtt.inflight_window,
        end_to_end=mqtt.end_to_end_ack,
        resend_unacked_after_s=mqtt.resend_unacked_after_s,
        reconnect_min_s=mqtt.reconnect_min_s,
        reconnect_max_s=mqtt.reconnect_max_s,
    )


class Gateway:
    """The running gateway; ``reloader`` re-reads ``config_path`` (``None``: it refuses)."""

    def __init__(self, settings: Settings, config_path: Path | None = None) -> None:
        self.settings = settings
        self.overrides = DeviceOverrides.beside(settings.store.path)
        # The runtime overlay wins over the TOML's `enabled`.
        inventory = self.overrides.apply(settings.devices)
        self.metrics = Metrics()
        self.status = StatusBoard(self.metrics)
        gateway = settings.gateway
        self.topics = Topics(settings.mqtt.topic_root, gateway.site, gateway.ward, gateway.id)
        self._stop = asyncio.Event()
        self._used_bytes = 0
        self.tasks = TaskJoins(self.metrics)
        self._quota_bytes = settings.store.outbox_quota_bytes
        devices = [d for d in inventory if d.enabled]
        self.outbox = AsyncOutbox(
            open_outbox(settings, owner=True),
            max_batch=settings.store.max_batch,
            on_commit=self._observe_commit,
        )
        # Subscribe to answers only when some device can ask (an ACL may forbid the topic).
        asks = any(device_kind(d.kind).asks_host for d in devices)
        desk = QueryDesk() if asks else None
        if asks and settings.mqtt.query_reply_key_file is None:
            log.warning(
                "host-query replies are accepted unsigned: set [mqtt] query_reply_key_file "
                "(docs/mqtt-contract.md, Host query)"
            )
        self.forwarder = Forwarder(
            forwarder_config(settings),
            self.topics,
            self.outbox,
            self.metrics,
            self.status,
            desk=desk,
            reply_key=settings.mqtt.resolved_reply_key(),
            tasks=self.tasks,
        )
        self.outbox.on_stored = self.forwarder.offer
        self.forwarder_liveness = ForwarderLiveness(
            settings.mqtt.stall_after_s, self.forwarder, self.tasks, self.metrics
        )
        # Shared with the pipeline, so devices added by a reload are known to it too.
        self._device_info: dict[str, DeviceInfo] = {}
        for device in inventory:
            self._learn_device(device)
        self.rejects = RejectArchive(
            Path(settings.store.path).parent / "rejected",
            budget_bytes=settings.store.reject_budget_bytes,
            min_free_bytes=settings.store.min_free_mb * 1024 * 1024,
            on_unkept=lambda why, n: self.metrics.rejects_unkept.labels(reason=why).inc(n),
        )
        self.pipeline = Pipeline(
            topics=self.topics,
            outbox=self.outbox,
            metrics=self.metrics,
            status=self.status,
            devices=self._device_info,
            rejects=self.rejects,
            desk=desk,
        )
        self.devices = DeviceSupervisor(
            inventory, self.pipeline, self.status, self.tasks, overrides=self.overrides
        )
        self.reloader = Reloader(
            config_path,
            settings,
            inventory,
            self.devices,
            self.overrides,
            on_configure=self._learn_device,
            host_queries=desk is not None,
        )
        host, _, port = settings.http.listen.rpartition(":")
        self.control = ControlServer(
            host,
            int(port),
            self.metrics.registry,
            self.liveness,
            self.readiness,
            api={"/api/unmapped-codes": self.pipeline.unmapped.listing},
            routes=[DevicesApi(self.devices, self.status)],
        )
        self._housekept_at = time.monotonic()
        for device in inventory:
            self.status.add_device(device.id, enabled=device.enabled)
        self.metrics.outbox_quota.set(self._quota_bytes)

    def stop(self) -> None:
        self._stop.set()

    def _learn_device(self, device: DeviceSettings) -> None:
        self._device_info[device.id] = DeviceInfo(kind=device.kind, encoding=device.encoding)

    def liveness(self) -> Verdict:
        # Housekeeping reads the store every few seconds; if it stalls, the store or the loop
        # is wedged and only a restart helps.
        silent_s = time.monotonic() - self._housekept_at
        forwarder = self.forwarder_liveness.failing_checks()
        ok = silent_s < _LIVENESS_LIMIT_S and not forwarder
        return Verdict(ok=ok, checks={"store": f"answered {silent_s:.0f} s ago", **forwarder})

    def readiness(self) -> Verdict:
        checks = {"store": "ok", "broker": "connected"}
        full = self.pipeline.refusing
        if full:
            checks["store"] = "full: new events are refused"
        if not self.forwarder.connected:
            share = self._used_bytes / self._quota_bytes if self._quota_bytes else 0.0
            checks["broker"] = f"disconnected; buffering, {share:.0%} of quota used"
        return Verdict(ok=not full, checks=checks)

    def _observe_commit(self, batch_size: int, seconds: float) -> None:
        self.metrics.commit_latency.observe(seconds)
        self.metrics.commit_batch.observe(batch_size)

    async def run(self) -> None:
        await self.pipeline.start()
        try:
            await self.control.start()
        except BaseException:
            await self.outbox.close()  # releases the store lock; nothing was started yet
            await asyncio.to_thread(self.rejects.close)
            raise
        forwarder = asyncio.create_task(self._keep_forwarding(), name="forwarder")
        housekeeping = asyncio.create_task(self._housekeeping(), name="housekeeping")
        try:
            await self.devices.start_all()
            log.info(
                "gateway %s up: %d devices%s, store %s",
                self.topics.base,
                sum(d.enabled for d in self.reloader.inventory),
                disabled_names(self.reloader.inventory),
                self.settings.store.path,
            )
            await self._stop.wait()
        finally:
            log.info("shutting down: stopping intake, flushing, disconnecting")
            await self.devices.stop_all()
            self.pipeline.close()
            self.forwarder.stop()
            # Bounded, so SIGTERM always ends the process: a forwarder that does not stop is
            # cancelled, and one that ignores that too is left behind (logged and counted).
            await asyncio.wait([forwarder], timeout=_FORWARDER_STOP_S)
            await self.tasks.cancel_and_join([forwarder, housekeeping], _TASK_STOP_S)
            await self.outbox.close()
            await asyncio.to_thread(self.rejects.close)  # the open bursts' records
            await self.control.close()
            log.info("gateway stopped cleanly")

    async def _keep_forwarding(self) -> None:
        # A bug in the forwarder must not silently stop delivery while intake goes on.
        while True:
            try:
                await self.forwarder.run()
                return
            except Exception:
                log.exception("forwarder crashed; restarting it in 1 s")
                await asyncio.sleep(1.0)

    async def _housekeeping(self) -> None:
        since_prune = _PRUNE_PERIOD_S
        while True:
            stats = await self.outbox.stats()
            self._used_bytes = stats.used_bytes
            pending = sum(stats.pending.values())
            self.metrics.outbox_pending.set(pending)
            self.forwarder_liveness.observe(pending)
            self.metrics.outbox_unacked.set(stats.sent if self.settings.mqtt.end_to_end_ack else 0)
            self.metrics.outbox_oldest.set(stats.oldest_pending_age_s or 0.0)
            self.metrics.outbox_bytes.set(stats.used_bytes)
            self.metrics.outbox_quarantined.set(stats.quarantined)
            self.metrics.store_full.set(self.pipeline.refusing)
            self._housekept_at = time.monotonic()
            if since_prune >= _PRUNE_PERIOD_S:
                pruned = await self.outbox.prune()
                if pruned:
                    log.info("pruned %d delivered envelopes past retention", pruned)
                since_prune = 0.0
            await asyncio.sleep(_STATS_PERIOD_S)
            since_prune += _STATS_PERIOD_S


async def run_gateway(settings: Settings, config_path: Path | None = None) -> int:
    """Run until SIGTERM or SIGINT; the number of tasks that would not stop (0 normally).

    SIGHUP reloads ``config_path``. With tasks left behind, the caller must not wait for them
    (``asyncio.run`` would, forever).
    """
    gateway = Gateway(settings, config_path)
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[ReloadOutcome]] = set()

    def reload_on_hangup() -> None:
        task = asyncio.create_task(gateway.reloader.reload(), name="reload")
        reloads.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, gateway.stop)
    loop.add_signal_handler(signal.SIGHUP, reload_on_hangup)
    try:
        with pid_file(settings.store.path):  # for `wardlink reload`
            await gateway.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return gateway.tasks.stuck()
