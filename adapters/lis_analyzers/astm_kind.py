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
        default=1024, ge=1, le=65536, description="bare records: a message larger is refused"
    )
    idle_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="close a TCP connection silent this long (none: analyzers often stay "
        "connected and quiet for hours)",
    )
