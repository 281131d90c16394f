"""Options of the ``hl7-analyzer`` kind, validated from ``[devices.options]``.

Registry import string: ``adapters.lis_analyzers.kind:Hl7AnalyzerOptions``.
"""

from __future__ import annotations

from pydantic import Field, FilePath

from adapters.hl7.options import Hl7LinkOptions


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
