"""What the centre sends back to a device: orders answering an :class:`OrderQuery`.

Published by the centre (the EMR / LIS, or ``wardlink consume --orders``) as JSON on
``{prefix}/query-reply/{device}``; see docs/mqtt-contract.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.canonical.codes import PatientRef


class Order(BaseModel):
    """The tests ordered on one specimen."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specimen_id: str = Field(min_length=1)
    tests: list[str] = Field(min_length=1, description="the analyzer's local test codes")
    priority: str = Field(
        default="R", pattern=r"^[SARCP]$", description="E1394 O-6: R routine, S stat"
    )
    patient: PatientRef | None = None
    specimen_type: str | None = Field(default=None, description="e.g. Serum, Urine (O-16)")


class OrderReply(BaseModel):
    """The answer to one query; no orders means "no information" for the analyzer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    query_id: str = Field(min_length=1)
    orders: list[Order] = Field(default_factory=list)
