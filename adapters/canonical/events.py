"""Canonical events: the one vocabulary every layer above the codecs shares.

Each event has a ``kind`` literal so a payload is self-describing and the envelope's payload is a
discriminated union. Adding an optional field is a minor schema change; anything else is major
(see docs/adr/0003-envelope-and-versioning.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.canonical.codes import (
    CodedValue,
    DeviceIdentity,
    Observation,
    PatientRef,
    ReportedValue,
    ResultStatus,
)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabResult(_Event):
    """All results of one specimen from one message."""

    kind: Literal["lab_result"] = "lab_result"
    specimen_id: str | None = None
    patient: PatientRef | None = None
    ordered_tests: list[CodedValue] = Field(default_factory=list)
    observations: list[Observation]
    analyzer: DeviceIdentity | None = None
    status: ResultStatus = ResultStatus.UNKNOWN
    collected_at: datetime | None = None
    resulted_at: datetime | None = None
    comments: list[str] = Field(default_factory=list)
    rack: str | None = Field(
        default=None, description="schema 1.1: ASTM O-4 or HL7 SAC-10 rack or carrier"
    )
    position: str | None = Field(
        default=None, description="schema 1.1: position in the rack (ASTM O-4, HL7 SAC-11)"
    )


class QcResult(_Event):
    """Results of a control, calibrator or other specimen that is not a patient's.

    A kind of its own (published on ``qc/{device}``), never a :class:`LabResult`: a consumer
    that only knows ``lab_result`` cannot file it on a chart by its specimen number. It has no
    patient. ``evidence`` says where the mark was read (``SPM-11=Q``, ``O-12=Q``); ``ambiguous``
    says the signals disagreed or the dialect could not vouch for one, and the gateway took the
    safe side (see docs/adr/0015-qc-kind-and-hl7-dialects.md).
    """

    kind: Literal["qc_result"] = "qc_result"
    role: str = Field(
        description="control, calibrator, electronic-qc, blind, proficiency, replicate, pool, "
        "group, training, debugging, or unknown (HL7 table 0369 and processing ids)"
    )
    evidence: list[str] = Field(min_length=1, description="where the mark was read")
    ambiguous: bool = False
    specimen_id: str | None = None
    control: str | None = Field(default=None, description="control material, as sent")
    lot: str | None = None
    level: str | None = None
    ordered_tests: list[CodedValue] = Field(default_factory=list)
    observations: list[Observation]
    analyzer: DeviceIdentity | None = None
    status: ResultStatus = ResultStatus.UNKNOWN
    collected_at: datetime | None = None
    resulted_at: datetime | None = None
    comments: list[str] = Field(default_factory=list)
    rack: str | None = Field(default=None, description="ASTM O-4 or HL7 SAC-10 rack or carrier")
    position: str | None = Field(
        default=None, description="position in the rack (ASTM O-4, HL7 SAC-11)"
    )


class VitalSigns(_Event):
    """Numerics from a bedside monitor at one measurement time."""

    kind: Literal["vital_signs"] = "vital_signs"
    patient: PatientRef | None = None
    bed: str | None = None
    measured_at: datetime | None = None
    observations: list[Observation]


class AlarmPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AlarmState(StrEnum):
    START = "start"
    CONTINUE = "continue"
    END = "end"


class Alarm(_Event):
    """An alarm: always forwarded on the alarm lane, never thinned."""

    kind: Literal["alarm"] = "alarm"
    priority: AlarmPriority
    state: AlarmState
    text: str
    source: CodedValue | None = Field(default=None, description="the metric that alarmed")
    value: float | str | None = None
    limit: float | str | None = None
    unit: str | None = None
    patient: PatientRef | None = None
    bed: str | None = None
    raised_at: datetime | None = None
    reported: ReportedValue | None = Field(
        default=None, description="schema 1.1: the alarming value as sent (authoritative)"
    )
    sub_id: str | None = Field(
        default=None,
        description="schema 1.1: HL7 OBX-4 of the alarming source as sent, e.g. '1.3.2.150456.2'",
    )
    equipment: list[CodedValue] | None = Field(
        default=None, description="schema 1.1: HL7 OBX-18 of the alarming source"
    )


class IdentificationSource(StrEnum):
    BARCODE = "barcode"
    CARD = "card"


class Identification(_Event):
    """A scan: specimen label, GS1 code, CCCD/BHYT QR or a card read."""

    kind: Literal["identification"] = "identification"
    source: IdentificationSource
    symbology: str | None = Field(default=None, description="e.g. code128, gs1, cccd-qr")
    data: str
    fields: dict[str, str] = Field(default_factory=dict, description="decoded parts")
    person: PatientRef | None = None


class EnvironmentReading(_Event):
    """A ward-equipment reading (fridge temperature, gas pressure)."""

    kind: Literal["environment_reading"] = "environment_reading"
    quantity: CodedValue
    value: float | int | bool
    unit: str | None = None
    location: str | None = None
    measured_at: datetime | None = None
    in_alarm: bool = False


class OrderQuery(_Event):
    """An analyzer asks the host which tests to run on specimens (ASTM Q record, host query).

    The centre answers with an :class:`adapters.canonical.orders.OrderReply` carrying the same
    ``query_id`` on ``query-reply/{device}``; after ``reply_by`` the analyzer has already been
    told "no information" and a late answer is ignored.
    """

    kind: Literal["order_query"] = "order_query"
    query_id: str
    specimen_ids: list[str]
    tests: list[str] = Field(default_factory=list, description="empty: all tests on order")
    reply_by: datetime


class DeviceState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    DISABLED = "disabled"


class DeviceStatus(_Event):
    """A device's state as the gateway sees it (published retained per device)."""

    kind: Literal["device_status"] = "device_status"
    state: DeviceState
    detail: str | None = None
    last_message_at: datetime | None = None
    messages_total: int = 0
    errors_total: int = 0
    unread_fields: dict[str, int] = Field(
        default_factory=dict,
        description="ASTM fields sent non-empty that the device's dialect does not read, by "
        "position ('P-7': count since start): a moved field or a wrong dialect",
    )


CanonicalEvent = Annotated[
    LabResult
    | QcResult
    | VitalSigns
    | Alarm
    | Identification
    | EnvironmentReading
    | OrderQuery
    | DeviceStatus,
    Field(discriminator="kind"),
]
