"""The scanner kind's options, validated from ``[devices.options]`` in the inventory.

Registry import string: ``adapters.scanners.kind:ScannerOptions``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.scanners.lines import Terminator


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
