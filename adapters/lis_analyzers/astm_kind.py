"""Options of the ``astm-analyzer`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.lis_analyzers.astm_kind:AstmAnalyzerOptions``. The vendor
dialect is the device's ``dialect`` (``auto`` reads it from each message's H record).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, FilePath

from adapters.zones import ZoneOptions


class AstmAnalyzerOptions(ZoneOptions):
    """A lab analyzer speaking ASTM E1394 records, framed by E1381 or bare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framing: Literal["auto", "e1381", "none"] = Field(
        default="auto",
        description="e1381: ENQ/STX frames with checksums; none: bare records ending at L "
        "(ASTM over TCP without the link layer); auto: per connection, from the first byte",
    )
    code_map: FilePath | None = Field(
        default=None, description="CSV mapping local test codes to hospital codes and LOINC"
    )
    decimal_comma: bool = Field(
        default=False,
        description="the analyzer writes 7,41 for 7.41 (else a comma is flagged); a dialect "
        "may also say so",
    )
    host_query: bool = Field(
        default=True, description="forward Q records to the centre and send its orders back"
    )
    query_timeout_s: float = Field(
        default=8.0,
        gt=0,
        le=60,
        description="answer 'no information' if the centre has not answered by then; keep it "
        "under the analyzer's own patience (often 10 to 30 s)",
    )
    reply_timeout_s: float = Field(
        default=15.0, gt=0, description="E1381: wait this long for the analyzer's ACK/NAK"
    )
    frame_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="E1381: a started message is dropped when no frame or EOT comes within this",
    )
    max_message_kb: int = Field(
        default=1024,
        ge=1,
        le=65536,
        description="a message larger is refused (bare: dropped; E1381: NAKed)",
    )
    idle_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description="close a connection silent this long; analyzers stay quiet for hours "
        "between runs and reconnect (or are reconnected) when they have results",
    )
    message_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="E1381: a message must be complete (its L record) within this from its "
        "first frame, or it is dropped and its next frame NAKed",
    )
    max_message_frames: int = Field(
        default=8192,
        ge=1,
        le=1 << 20,
        description="E1381: a message with more frames is refused (NAKed) and counted",
    )
    max_connections: int = Field(
        default=16,
        ge=1,
        le=256,
        description="listen://: peers connected at once; at the cap the quietest connection "
        "is closed for a new one (or the new one refused when all are busy)",
    )
