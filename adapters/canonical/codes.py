"""Coded values shared by every canonical event: codes, observations, patients, devices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CodedValue(_Frozen):
    """A code in a named system (LOINC, MDC, a hospital catalogue, a vendor's local codes)."""

    code: str
    system: str = Field(description="e.g. 'LOINC', 'MDC', 'local', 'hospital'")
    display: str | None = None


DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"

ExactDecimal = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    # A JSON number would be read back as a binary float by most consumers: the digits travel
    # as a string in Decimal notation ("8.60", "1.2E+3"), see docs/adr/0014-reported-values.md.
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]

Comparator = Literal["<", ">", "<=", ">=", "="]


class ValueKind(StrEnum):
    """What a reported text is: only ``number`` has a ``decimal``."""

    NUMBER = "number"
    RATIO = "ratio"  # a titer 1:40: numerator and denominator, no single number
    CODED = "coded"  # CWE/CNE: a code with its text and system
    TEXT = "text"  # anything else, never read as a number


class Ratio(_Frozen):
    numerator: ExactDecimal
    denominator: ExactDecimal


class ReportedValue(_Frozen):
    """A value exactly as the device sent it, and what the gateway read in it (schema 1.1).

    Authoritative over ``Observation.value``, which keeps its 1.0 meaning (a float for a plain
    number) for 1.0 consumers.
    """

    text: str = Field(description="as sent, trimmed: '8.60', '<^0.5' (HL7 SN), '7,41'")
    kind: ValueKind
    decimal: ExactDecimal | None = Field(
        default=None, description="the number with its digits, as a JSON string like '8.60'"
    )
    comparator: Comparator | None = Field(default=None, description="of '<0.5', '>= 8'")
    ratio: Ratio | None = None
    coded: CodedValue | None = None


class ResultStatus(StrEnum):
    """Result status, the common ground of ASTM R-9 and HL7 OBX-11."""

    FINAL = "final"
    PRELIMINARY = "preliminary"
    CORRECTED = "corrected"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class Observation(_Frozen):
    """One measured or reported value, with the device's own code and the mapped standard code.

    ``unmapped`` is true when no code map entry was found: the value is still forwarded so the
    lab sees what to map.
    """

    local_code: CodedValue
    code: CodedValue | None = Field(default=None, description="mapped standard code (LOINC, MDC)")
    hospital_code: CodedValue | None = None
    value: str | float | int | None = None
    unit: str | None = Field(default=None, description="UCUM where known, else as sent")
    reference_range: str | None = None
    flags: list[str] = Field(default_factory=list)
    status: ResultStatus = ResultStatus.UNKNOWN
    observed_at: datetime | None = None
    unmapped: bool = False
    # Schema 1.1, all optional (docs/mqtt-contract.md).
    reported: ReportedValue | None = None
    national_code: CodedValue | None = Field(
        default=None, description="national catalogue code, e.g. system 'VN-QD1227'"
    )
    sub_id: str | None = Field(default=None, description="HL7 OBX-4, e.g. '1.3.1' (channel)")
    method: CodedValue | None = Field(default=None, description="HL7 OBX-17")
    equipment: list[CodedValue] | None = Field(
        default=None, description="HL7 OBX-18 instances, ASTM R-14 instrument/module"
    )


class PatientRef(_Frozen):
    """Who a message is about. PHI: never logged in clear at info level."""

    id: str | None = None
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    national_id: str | None = Field(default=None, description="e.g. CCCD number")


class DeviceIdentity(_Frozen):
    """What the device says it is (ASTM H-5, HL7 MSH-3/4, a Modbus profile)."""

    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    software: str | None = None
    dialect: str | None = Field(
        default=None, description="the vendor dialect the message was read with (ASTM, HL7)"
    )
