"""The ``serial-scanner`` kind: its declaration and its options (``[devices.options]``).

Registry import string: ``adapters.scanners.kind:KIND``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice, Simulator
from adapters.scanners.lines import Terminator
from adapters.scanners.session import ScanSession


class ScannerOptions(BaseModel):
    """How a scanner ends each scan and how long a scan may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    terminator: Terminator = Field(
        default="any", description="suffix configured in the scanner: cr, lf, crlf or any"
    )
    max_length: int = Field(
        default=4096, ge=16, le=1 << 20, description="longer scans are rejected and counted"
    )
    idle_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description="close a connection silent this long (tcp:// reconnects at once; a "
        "listen:// peer reconnects when it next scans)",
    )
    max_connections: int = Field(
        default=16,
        ge=1,
        le=256,
        description="listen://: peers connected at once; at the cap the quietest connection "
        "is closed for a new one (or the new one refused when all are busy)",
    )


def prepare(device: DeviceSetup) -> PreparedDevice:
    """Check the encoding once (a config error, nothing to retry) and serve scans."""
    codecs.lookup(device.encoding)
    options: ScannerOptions = device.options
    return PreparedDevice(
        new_session=lambda _peer: ScanSession(
            device.id, device.encoding, options.terminator, options.max_length
        ),
        idle_timeout_s=options.idle_timeout_s,
        max_connections=options.max_connections,
    )


KIND = DeviceKind(
    name="serial-scanner",
    description="Barcode scanner on a serial line or TCP that sends one code per line",
    options_model=ScannerOptions,
    prepare=prepare,
    schemes=("serial", "tcp", "listen"),
    sample_config=Path(__file__).with_name("sample.toml"),
    simulator=Simulator("scanner", "scanner", "a barcode / QR scanner over a pty or TCP"),
)
