"""Runner for HL7 v2 devices over MLLP (TCP, TLS or serial): analyzers, LIS links, monitors.

The one place HL7 bytes meet the sans-IO session: each connection gets its own
:class:`~adapters.hl7.session.Hl7Session`; every complete message is read by the kind's mapper
(lab results, vital signs, alarms) and its events committed atomically *before* the session is
told to accept it, so an AA/CA never leaves for a
message that is not durable (promise 1). A message that cannot be stored is answered AR (HL7:
the receiver cannot take it now; the sender may retry); one we do not take (type, size, charset,
syntax) is answered AE/AR by the session, counted and its bytes kept for inspection. A control
id seen again (a retransmission after a lost ACK) is acknowledged again but stored once.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from functools import partial

from adapters.canonical.events import CanonicalEvent, VitalSigns
from adapters.codemap import CodeMap, load_code_map
from adapters.hl7.dialect import load_hl7_dialect
from adapters.hl7.message import Message
from adapters.hl7.options import Hl7LinkOptions
from adapters.hl7.session import Hl7Session, MessageReceived, MessageRejected
from adapters.hl7.timestamps import parse_ts
from adapters.lis_analyzers.kind import Hl7AnalyzerOptions
from adapters.monitors.kind import Hl7MonitorOptions
from adapters.monitors.pcd import monitor_events_from_hl7
from adapters.zones import device_zone
from drivers.base import ByteStream
from drivers.registry import accepts_connections
from gateway.device_runners.connections import keep_connected
from gateway.device_runners.device import DialectDevice
from gateway.device_runners.hl7_analyzer import AUTO, AnalyzerReader
from gateway.envelope import UlidFactory
from gateway.intake import Intake

log = logging.getLogger(__name__)


Hl7Device = DialectDevice[Hl7LinkOptions]


Mapper = Callable[[Message], Sequence[CanonicalEvent]]
"""A kind's reading of one accepted message: the events to commit (none is fine)."""
MapperFor = Callable[[str], Mapper]
"""The mapper of one connection, given its peer: per-connection state (what was logged)."""


async def run_hl7_analyzer(device: Hl7Device, intake: Intake) -> None:
    """Serve an analyzer's MLLP connection(s): results → ``lab_result``, QC → ``qc_result``."""
    options = device.options
    assert isinstance(options, Hl7AnalyzerOptions)
    if device.dialect != AUTO:
        load_hl7_dialect(device.dialect)  # a broken dialect file fails the device at start
    code_map = load_code_map(options.code_map) if options.code_map else CodeMap.empty()
    reader = partial(
        AnalyzerReader,
        device.id,
        device.dialect,
        code_map,
        local_zone=device_zone(options.timezone),
        decimal_comma=options.decimal_comma,
    )
    await serve_hl7(device, intake, reader)


async def run_hl7_monitor(device: Hl7Device, intake: Intake) -> None:
    """Serve a monitor's MLLP connection(s): PCD-01 → ``vital_signs``, PCD-04 → ``alarm``.

    Numerics are thinned by the device's rate policy; alarms never are.
    """
    options = device.options
    assert isinstance(options, Hl7MonitorOptions)
    policy = options.rate_policy()
    zone = device_zone(options.timezone)

    def read(message: Message) -> list[CanonicalEvent]:
        now = time.monotonic()
        events: list[CanonicalEvent] = []
        for event in monitor_events_from_hl7(message, local_zone=zone):
            kept = policy.apply(event, now) if isinstance(event, VitalSigns) else event
            if kept is not None:
                events.append(kept)
        return events

    await serve_hl7(device, intake, lambda _peer: read)


async def serve_hl7(device: Hl7Device, intake: Intake, mapper_for: MapperFor) -> None:
    """Serve a device's MLLP connection(s) until cancelled, committing what the mapper reads."""
    codecs.lookup(device.encoding)
    tls = tls_context(device.options, server=accepts_connections(device.connection))
    handler = _Handler(device, intake, mapper_for)
    await keep_connected(
        device.id,
        device.connection,
        intake,
        handler.serve,
        tls=tls,
        max_connections=device.options.max_connections,
    )


def tls_context(options: Hl7LinkOptions, *, server: bool) -> ssl.SSLContext | None:
    """MLLP over TLS, with client certificates required when a peer CA is configured."""
    if not options.tls:
        return None
    if server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if options.tls_peer_ca_file is not None:
            context.load_verify_locations(options.tls_peer_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    else:
        context = ssl.create_default_context(cafile=options.tls_peer_ca_file)
    if options.tls_cert_file is not None and options.tls_key_file is not None:
        context.load_cert_chain(options.tls_cert_file, options.tls_key_file)
    return context


class _Handler:
    def __init__(self, device: Hl7Device, intake: Intake, mapper_for: MapperFor) -> None:
        self._device = device
        self._options = device.options
        self._intake = intake
        self._mapper_for = mapper_for
        self._zone = device_zone(self._options.timezone)
        self._ack_ids = UlidFactory()  # MSH-10 of our ACKs: unique across connections

    async def serve(self, stream: ByteStream) -> None:
        options = self._options
        mapper = self._mapper_for(str(stream.peer))
        session = Hl7Session(
            max_message_bytes=options.max_message_kb * 1024,
            default_encoding=self._device.encoding,
            trust_msh18=options.trust_msh18,
            sending_application=options.sending_application,
            sending_facility=options.sending_facility,
            control_ids=self._ack_ids.new,
        )
        loop = asyncio.get_running_loop()
        message_deadline: float | None = None  # a started message must end by then
        try:
            while True:
                if not session.receiving:
                    message_deadline = None
                elif message_deadline is None:
                    message_deadline = loop.time() + options.read_timeout_s
                timeout = (
                    options.idle_timeout_s
                    if message_deadline is None
                    else max(0.0, message_deadline - loop.time())
                )
                try:
                    async with asyncio.timeout(timeout):
                        data = await stream.read()
                except TimeoutError:
                    self._timed_out(stream.peer, message_cut=message_deadline is not None)
                    return
                if not data:
                    return
                session.receive_data(data)
                for event in session.events():
                    message_deadline = None  # a message ended: the next one gets its own time
                    if isinstance(event, MessageRejected):
                        self._intake.count_rejected(self._device.id, event.reason, event.raw)
                    else:
                        await self._take(session, event, mapper)
                if out := session.data_to_send():
                    await stream.write(out)
        finally:
            await stream.close()

    def _timed_out(self, peer: str, *, message_cut: bool) -> None:
        """Count and log a deadline; the caller closes the connection.

        A message not complete in time is dropped unanswered: MLLP senders resend a message
        whose ACK does not come, on a new connection.
        """
        if message_cut:
            limit = self._options.read_timeout_s
            log.warning(
                "device %s: message from %s not complete within %g s; dropped, connection closed",
                self._device.id,
                peer,
                limit,
            )
            self._intake.count_connection_dropped(self._device.id, "message_deadline")
        else:
            log.info("device %s: closing idle connection %s", self._device.id, peer)
            self._intake.count_connection_dropped(self._device.id, "idle_timeout")

    async def _take(self, session: Hl7Session, event: MessageReceived, mapper: Mapper) -> None:
        message = event.message
        device_id = self._device.id
        code, trigger, _ = message.message_type
        if f"{code}^{trigger}" not in self._options.accept:
            reason = f"unsupported message type {code}^{trigger}"
            session.reject(event.message_id, "AR", reason, 200)
            self._intake.count_rejected(device_id, reason, message.raw)
            return
        control_id = message.control_id
        try:
            events = mapper(message)
        except Exception:
            log.exception("device %s: message %s could not be mapped", device_id, control_id)
            session.reject(event.message_id, "AE", "message content could not be read", 207)
            self._intake.count_rejected(device_id, "unmappable content", message.raw)
            return
        if events:
            try:
                # The same control id with the same bytes is a retransmission (the ACK was
                # lost, perhaps to a gateway restart): the store keeps it once. A reused id (a
                # counter reset after a restart) with other content is a new message.
                key = f"{control_id}/{hashlib.sha256(message.raw).hexdigest()}"
                await self._intake.submit_many(
                    device_id,
                    events,
                    raw=message.raw,
                    message_key=key,
                    device_time=parse_ts(message.msh.text(7), self._zone),
                )
            except Exception as exc:  # StoreError above all: the analyzer must resend later
                log.warning(
                    "device %s: message %s not stored (%s); answered AR",
                    device_id,
                    control_id,
                    type(exc).__name__,
                )
                session.reject(event.message_id, "AR", f"not stored: {exc}", 207)
                return
        session.accept(event.message_id)
