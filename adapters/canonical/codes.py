"""Coded values shared by every canonical event: codes, observations, patients, devices."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CodedValue(_Frozen):
    """A code in a named system (LOINC, MDC, a hospital catalogue, a vendor's local codes)."""

    code: str
    system: str = Field(description="e.g. 'LOINC', 'MDC', 'local', 'hospital'")
    display: str | None = None


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
