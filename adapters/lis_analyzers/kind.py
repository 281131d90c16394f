"""The ``hl7-analyzer`` kind: its declaration and its options (``[devices.options]``).

Registry import strings: ``adapters.lis_analyzers.kind:KIND``,
``adapters.lis_analyzers.kind:Hl7AnalyzerOptions``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pydantic import Field, FilePath

from adapters.codemap import CodeMap, load_code_map
from adapters.hl7.device_session import Mapper, prepare_hl7_link
from adapters.hl7.dialect import load_hl7_dialect
from adapters.hl7.options import Hl7LinkOptions
from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice, Simulator
from adapters.lis_analyzers.hl7_reader import AUTO, AnalyzerReader
from adapters.zones import device_zone


class Hl7AnalyzerOptions(Hl7LinkOptions):
    """An analyzer, middleware or LIS link sending HL7 v2 results over MLLP."""

    accept: tuple[str, ...] = Field(
        default=("ORU^R01", "OUL^R22", "OUL^R24"),
        description="message types taken; others are answered AR (unsupported message type)",
    )
    code_map: FilePath | None = Field(
        default=None, description="CSV mapping local test codes to hospital codes and LOINC"
    )
    decimal_comma: bool = Field(
        default=False, description="the analyzer writes 7,41 for 7.41 (else a comma is flagged)"
    )


def prepare(device: DeviceSetup) -> PreparedDevice:
    """Load the dialect and code map once (a broken file fails the device at start)."""
    options: Hl7AnalyzerOptions = device.options
    if device.dialect != AUTO:
        load_hl7_dialect(device.dialect)
    code_map = load_code_map(options.code_map) if options.code_map else CodeMap.empty()
    reader_for = partial(
        AnalyzerReader,
        device.id,
        device.dialect,
        code_map,
        local_zone=device_zone(options.timezone),
        decimal_comma=options.decimal_comma,
    )

    def mapper_for(peer: str) -> Mapper:
        reader = reader_for(peer)  # per connection: the dialect is logged once per connection
        return lambda message, _now: reader(message)

    return prepare_hl7_link(device, options, mapper_for)


HL7_DIALECTS = tuple(
    sorted(
        p.stem.replace("_", "-") for p in Path(__file__).with_name("hl7_dialects").glob("*.toml")
    )
)

KIND = DeviceKind(
    name="hl7-analyzer",
    description="Lab analyzer, middleware or LIS link sending HL7 v2 results over MLLP",
    options_model=Hl7AnalyzerOptions,
    prepare=prepare,
    schemes=("listen", "tcp", "serial"),
    sample_config=Path(__file__).with_name("sample.toml"),
    dialects=(AUTO, *HL7_DIALECTS),
    default_dialect=AUTO,
    simulator=Simulator(
        "hl7-sender", "hl7_sender", "HL7 analyzer or LIS link over MLLP, with faults"
    ),
)
