"""Runner for barcode/QR scanners on serial, TCP-connect and TCP-listen connections.

A scanner has no protocol answer: it cannot be told to resend. So a scan that cannot be decoded
or stored is logged (without its content, which may be a CCCD QR) and counted, and the runner
keeps going. Connection trouble is reported once per change of state, as Home Assistant logs an
unavailable device once, not at every retry.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Protocol

from adapters.canonical.events import DeviceState
from adapters.scanners.decode import decode_scan
from adapters.scanners.errors import ScanDecodeError
from adapters.scanners.kind import ScannerOptions
from adapters.scanners.lines import LineSplitter, OverlongScan
from drivers.backoff import Backoff
from drivers.base import ByteStream, OpenFailedError
from drivers.registry import accepts_connections, open_listener, open_stream
from gateway.intake import Intake

log = logging.getLogger(__name__)


class ScannerDevice(Protocol):
    """What the runner needs of a scanner's configuration (read-only, structural)."""

    @property
    def id(self) -> str: ...

    @property
    def connection(self) -> str: ...

    @property
    def encoding(self) -> str: ...

    @property
    def options(self) -> ScannerOptions: ...


@dataclass(frozen=True)
class ScannerConfig:
    """A ready-made :class:`ScannerDevice`, e.g. built from an inventory entry by the daemon."""

    id: str
    connection: str
    encoding: str = "utf-8"
    options: ScannerOptions = field(default_factory=ScannerOptions)


async def run_scanner(
    device: ScannerDevice, intake: Intake, *, backoff: Backoff | None = None
) -> None:
    """Read scans from ``device`` and submit them until cancelled.

    ``serial://`` and ``tcp://`` connections are reopened with ``backoff`` whenever they fail or
    drop; on ``listen://`` any number of scanners may connect at once.

    Raises:
        LookupError: the device's encoding is unknown (a config error; nothing to retry).
        drivers.base.InvalidUrlError: the connection URL is not usable (also a config error).
    """
    codecs.lookup(device.encoding)
    backoff = backoff or Backoff()
    if accepts_connections(device.connection):
        await _accept(device, intake, backoff)
    else:
        await _connect(device, intake, backoff)


async def _connect(device: ScannerDevice, intake: Intake, backoff: Backoff) -> None:
    failing = False
    while True:
        try:
            stream = await open_stream(device.connection)
        except OpenFailedError as exc:
            if not failing:
                log.warning("scanner %s unavailable: %s; retrying", device.id, exc)
                intake.report_state(device.id, DeviceState.ERROR, str(exc))
                failing = True
            await asyncio.sleep(backoff.next_delay())
            continue
        failing = False
        backoff.reset()
        log.info("scanner %s connected (%s)", device.id, stream.peer)
        intake.report_state(device.id, DeviceState.CONNECTED, stream.peer)
        await _serve(stream, device, intake)
        log.warning("scanner %s disconnected (%s); reconnecting", device.id, stream.peer)
        intake.report_state(device.id, DeviceState.DISCONNECTED, f"{stream.peer} closed")
        # A device that accepts and drops at once must not make us spin.
        await asyncio.sleep(backoff.next_delay())


async def _accept(device: ScannerDevice, intake: Intake, backoff: Backoff) -> None:
    failing = False
    while True:
        try:
            async with open_listener(device.connection) as listener:
                failing = False
                backoff.reset()
                log.info("scanner %s listening on port %d", device.id, listener.port)
                # Bound but nobody connected yet; also clears an earlier ERROR.
                detail = f"waiting for scanners on port {listener.port}"
                intake.report_state(device.id, DeviceState.DISCONNECTED, detail)
                await _serve_all(listener, device, intake)
        except OpenFailedError as exc:
            if not failing:
                log.warning("scanner %s cannot listen: %s; retrying", device.id, exc)
                intake.report_state(device.id, DeviceState.ERROR, str(exc))
                failing = True
            await asyncio.sleep(backoff.next_delay())


async def _serve_all(
    listener: AsyncIterable[ByteStream], device: ScannerDevice, intake: Intake
) -> None:
    """Serve every connecting scanner; the device is connected while at least one is."""
    connected = 0

    async def serve_one(stream: ByteStream) -> None:
        nonlocal connected
        connected += 1
        if connected == 1:
            intake.report_state(device.id, DeviceState.CONNECTED, stream.peer)
        log.info("scanner %s: %s connected", device.id, stream.peer)
        try:
            await _serve(stream, device, intake)
        finally:
            connected -= 1
        log.info("scanner %s: %s disconnected", device.id, stream.peer)
        if not connected:
            intake.report_state(device.id, DeviceState.DISCONNECTED, f"{stream.peer} closed")

    async with asyncio.TaskGroup() as connections:
        async for stream in listener:
            connections.create_task(serve_one(stream))


async def _serve(stream: ByteStream, device: ScannerDevice, intake: Intake) -> None:
    """Pump one connection until EOF; a partial scan left at EOF is dropped with the line."""
    splitter = LineSplitter(device.options.terminator, device.options.max_length)
    try:
        while chunk := await stream.read():
            for item in splitter.receive_data(chunk):
                if isinstance(item, OverlongScan):
                    limit = item.max_length
                    log.warning("scanner %s: scan over %d bytes dropped", device.id, limit)
                    intake.count_rejected(device.id, "overlong")
                else:
                    await _submit(item, device, intake)
    finally:
        await stream.close()


async def _submit(scan: bytes, device: ScannerDevice, intake: Intake) -> None:
    try:
        event = decode_scan(scan, device.encoding)
    except ScanDecodeError as exc:
        log.warning("scanner %s: scan rejected (%s)", device.id, exc.reason)
        intake.count_rejected(device.id, exc.reason, scan)
        return
    try:
        await intake.submit(device.id, event, raw=scan)
    except Exception as exc:
        # Any failure to commit (StoreFullError above all) loses this scan: the scanner has no
        # way to be asked again. The pipeline counts the refusal (intake_refused_total); keep
        # reading. Never log the scan itself.
        log.warning("scanner %s: scan not stored (%s)", device.id, type(exc).__name__)
