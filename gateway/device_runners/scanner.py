"""Runner for barcode/QR scanners on serial, TCP-connect and TCP-listen connections.

A scanner has no protocol answer: it cannot be told to resend. So a scan that cannot be decoded
or stored is logged (without its content, which may be a CCCD QR) and counted, and the runner
keeps going.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from dataclasses import dataclass, field

from adapters.scanners.decode import decode_scan
from adapters.scanners.errors import ScanDecodeError
from adapters.scanners.kind import ScannerOptions
from adapters.scanners.lines import LineSplitter, OverlongScan
from drivers.backoff import Backoff
from drivers.base import ByteStream
from gateway.device_runners.connections import keep_connected
from gateway.device_runners.device import TextDevice
from gateway.intake import Intake

log = logging.getLogger(__name__)


ScannerDevice = TextDevice[ScannerOptions]


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

    Connections are kept up by :func:`gateway.device_runners.connections.keep_connected`.

    Raises:
        LookupError: the device's encoding is unknown (a config error; nothing to retry).
        drivers.base.InvalidUrlError: the connection URL is not usable (also a config error).
    """
    codecs.lookup(device.encoding)

    async def serve(stream: ByteStream) -> None:
        await _serve(stream, device, intake)

    await keep_connected(
        device.id,
        device.connection,
        intake,
        serve,
        backoff=backoff,
        max_connections=device.options.max_connections,
    )


async def _serve(stream: ByteStream, device: ScannerDevice, intake: Intake) -> None:
    """Pump one connection until EOF or idle timeout; a partial scan left then is dropped."""
    splitter = LineSplitter(device.options.terminator, device.options.max_length)
    try:
        while chunk := await _read_or_idle(stream, device, intake):
            for item in splitter.receive_data(chunk):
                if isinstance(item, OverlongScan):
                    limit = item.max_length
                    log.warning("scanner %s: scan over %d bytes dropped", device.id, limit)
                    intake.count_rejected(device.id, "overlong")
                else:
                    await _submit(item, device, intake)
    finally:
        await stream.close()


async def _read_or_idle(stream: ByteStream, device: ScannerDevice, intake: Intake) -> bytes:
    """The next chunk, or ``b""`` (as at EOF) when the connection has been silent too long."""
    try:
        async with asyncio.timeout(device.options.idle_timeout_s):
            return await stream.read()
    except TimeoutError:
        log.info("scanner %s: closing idle connection %s", device.id, stream.peer)
        intake.count_connection_dropped(device.id, "idle_timeout")
        return b""


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
