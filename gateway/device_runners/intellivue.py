"""Runner for Philips IntelliVue monitors over Data Export: ``serial://`` (MIB/RS232) or ``udp://``.

The gateway is the client here: it opens the line, associates and polls
(:class:`~adapters.monitors.intellivue.session.IntelliVueSession`), and commits what the
monitor answers. Over serial every PDU travels in a MIB/RS232 frame; over UDP each datagram is
one PDU. Numerics are thinned by the device's rate policy, alarms never. A monitor cannot be
asked to send a value again, so an event the store refuses is logged (without patient data),
counted by the pipeline, and the runner keeps polling. Unreadable frames and PDUs are counted
as rejected input with their bytes. On shutdown the association is released (bounded wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from adapters.canonical.events import CanonicalEvent, DeviceState
from adapters.monitors.intellivue.events import alarms_from_changes, vitals_from_numerics
from adapters.monitors.intellivue.framing import Frame, FrameDecoder, encode_frame
from adapters.monitors.intellivue.session import IntelliVueSession
from adapters.monitors.intellivue.session_events import (
    Alarms,
    Associated,
    Lost,
    Numerics,
    PduRejected,
    SessionEvent,
)
from adapters.monitors.intellivue_kind import IntelliVueOptions
from adapters.monitors.rate import RatePolicy
from adapters.zones import device_zone
from drivers.base import ByteStream, DriverError
from drivers.registry import scheme_of
from gateway.device_runners.connections import keep_connected
from gateway.device_runners.device import Device
from gateway.intake import Intake

log = logging.getLogger(__name__)

RELEASE_WAIT_S = 2.0
DATAGRAM_SCHEMES = frozenset({"udp"})


IntelliVueDevice = Device[IntelliVueOptions]


async def run_intellivue_monitor(device: IntelliVueDevice, intake: Intake) -> None:
    """Poll one monitor until cancelled, reconnecting the line as needed."""
    options = device.options
    assert isinstance(options, IntelliVueOptions)
    monitor = _Monitor(device, intake, options.rate_policy())
    await keep_connected(device.id, device.connection, intake, monitor.serve)


class _Monitor:
    def __init__(self, device: IntelliVueDevice, intake: Intake, policy: RatePolicy) -> None:
        self._device = device
        self._options = device.options
        self._intake = intake
        self._policy = policy  # shared by reconnections: thinning state survives a new line
        self._zone = device_zone(device.options.timezone)
        self._framed = scheme_of(device.connection) not in DATAGRAM_SCHEMES

    async def serve(self, stream: ByteStream) -> None:
        loop = asyncio.get_running_loop()
        session = IntelliVueSession(self._options.session_config(), bed_label=self._options.bed)
        decoder = FrameDecoder()
        session.start(loop.time())
        try:
            while True:
                await self._flush(stream, session)
                deadline = session.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                try:
                    async with asyncio.timeout(timeout):
                        data = await stream.read()
                except TimeoutError:
                    session.handle_timeout(loop.time())
                    continue
                if not data:
                    return
                self._feed(session, decoder, data, loop.time())
                session.handle_timeout(loop.time())
        except asyncio.CancelledError:
            await self._release(stream, session, decoder)
            raise
        finally:
            await stream.close()

    def _feed(
        self, session: IntelliVueSession, decoder: FrameDecoder, data: bytes, now: float
    ) -> None:
        if not self._framed:
            session.receive_pdu(data, now)
            return
        for item in decoder.receive_data(data):
            if isinstance(item, Frame):
                session.receive_pdu(item.pdu, now)
            else:
                self._intake.count_rejected(self._device.id, item.reason, item.data)

    async def _flush(self, stream: ByteStream, session: IntelliVueSession) -> None:
        for pdu in session.pdus_to_send():
            frame = encode_frame(pdu, with_header=self._options.frame_header)
            await stream.write(frame if self._framed else pdu)
        for event in session.events():
            await self._take(event)

    async def _release(
        self, stream: ByteStream, session: IntelliVueSession, decoder: FrameDecoder
    ) -> None:
        loop = asyncio.get_running_loop()
        session.close(loop.time())
        with contextlib.suppress(DriverError, TimeoutError, OSError):
            async with asyncio.timeout(RELEASE_WAIT_S):
                await self._flush(stream, session)
                while session.next_deadline() is not None:
                    data = await stream.read()
                    if not data:
                        break
                    self._feed(session, decoder, data, loop.time())

    async def _take(self, event: SessionEvent) -> None:
        device_id = self._device.id
        if isinstance(event, Numerics):
            vitals = self._policy.apply(
                vitals_from_numerics(event, local_zone=self._zone), time.monotonic()
            )
            if vitals is not None:
                await self._submit([vitals])
        elif isinstance(event, Alarms):
            await self._submit(list(alarms_from_changes(event, local_zone=self._zone)))
        elif isinstance(event, Associated):
            log.info("device %s: associated", device_id)
            self._intake.report_state(device_id, DeviceState.CONNECTED, "associated")
        elif isinstance(event, Lost):
            log.warning(
                "device %s: association lost (%s); associating again", device_id, event.reason
            )
            self._intake.report_state(device_id, DeviceState.DISCONNECTED, event.reason)
        elif isinstance(event, PduRejected):
            self._intake.count_rejected(device_id, event.reason, event.data)

    async def _submit(self, events: list[CanonicalEvent]) -> None:
        if not events:
            return
        try:
            await self._intake.submit_many(self._device.id, events)
        except Exception as exc:
            log.warning(
                "device %s: monitor data not stored (%s)", self._device.id, type(exc).__name__
            )
