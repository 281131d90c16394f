"""The ``astm-analyzer`` kind: its declaration and its options (``[devices.options]``).

Registry import strings: ``adapters.lis_analyzers.astm_kind:KIND`` and
``adapters.lis_analyzers.astm_kind:AstmAnalyzerOptions``. The vendor dialect is the device's
``dialect`` (``auto`` reads it from each message's H record).
"""

from __future__ import annotations

import codecs
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ConfigDict, Field, FilePath

from adapters.astm.dialect import load_dialect
from adapters.astm.dialect_link import HOST, LinkConfig
from adapters.canonical.ulid import UlidFactory
from adapters.codemap import CodeMap, load_code_map
from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice, Simulator
from adapters.lis_analyzers.astm_dialect_choice import AUTO
from adapters.lis_analyzers.astm_messages import MessageReader
from adapters.lis_analyzers.astm_session import AstmAnalyzer, AstmSession, Framing, HostAnswers
from adapters.zones import ZoneOptions, device_zone


class AstmAnalyzerOptions(ZoneOptions):
    """A lab analyzer speaking ASTM E1394 records, framed by E1381 or bare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framing: Framing = Field(
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


def link_config_for(dialect: str, options: AstmAnalyzerOptions) -> LinkConfig:
    """The host's E1381 settings: LIS1-A timers from the options, checks from the dialect."""
    config = dataclasses.replace(
        HOST,
        sender_timeout=options.reply_timeout_s,
        receiver_timeout=options.frame_timeout_s,
        message_timeout=options.message_timeout_s,
        max_message_frames=options.max_message_frames,
        max_message_bytes=options.max_message_kb * 1024,
    )
    if dialect == AUTO:
        return config  # the dialect is known only per message; be liberal on input
    spec = load_dialect(dialect)
    return dataclasses.replace(
        config, checksum_required=spec.checksum_required, lf_required=spec.lf_required
    )


def prepare(device: DeviceSetup) -> PreparedDevice:
    """Check the encoding, dialect and code map once (config errors, nothing to retry)."""
    codecs.lookup(device.encoding)
    options: AstmAnalyzerOptions = device.options
    link_config = link_config_for(device.dialect, options)
    code_map = load_code_map(options.code_map) if options.code_map else CodeMap.empty()
    reader = MessageReader(
        device.id,
        encoding=device.encoding,
        code_map=code_map,
        zone=device_zone(options.timezone),
        decimal_comma=options.decimal_comma,
    )
    # The session is sans-IO: the wall clock and query ids reach it from here.
    answers = HostAnswers(
        ask_centre=options.host_query,
        timeout_s=options.query_timeout_s,
        new_query_id=UlidFactory().new,
        wall_clock=lambda: datetime.now(UTC),
    )
    analyzer = AstmAnalyzer(
        id=device.id,
        dialect=device.dialect,
        framing=options.framing,
        link_config=link_config,
        max_message_bytes=options.max_message_kb * 1024,
        reader=reader,
        answers=answers,
    )
    return PreparedDevice(
        new_session=lambda peer: AstmSession(analyzer, peer),
        idle_timeout_s=options.idle_timeout_s,
        max_connections=options.max_connections,
    )


_DIALECTS = tuple(
    sorted(p.stem.replace("_", "-") for p in Path(__file__).with_name("dialects").glob("*.toml"))
)

KIND = DeviceKind(
    name="astm-analyzer",
    description="Lab analyzer sending ASTM E1394 results (E1381 framed or bare records), "
    "asking for orders by barcode",
    options_model=AstmAnalyzerOptions,
    prepare=prepare,
    schemes=("serial", "listen", "tcp"),
    sample_config=Path(__file__).with_name("astm_sample.toml"),
    dialects=(AUTO, *_DIALECTS),
    asks_host=True,
    simulator=Simulator(
        "analyzer", "astm_analyzer", "ASTM E1381/E1394 lab analyzer over a pty or TCP, with faults"
    ),
)
