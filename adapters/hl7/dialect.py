r"""Vendor HL7 lab dialects as data: where each analyzer strays from the standard.

The ASTM dialects' mechanism (:mod:`adapters.astm.dialect`) for HL7 v2 lab senders: each quirk
is a field of an :class:`Hl7Dialect` read from ``adapters/lis_analyzers/hl7_dialects/<name>.toml``
(``mindray_bs.toml`` is dialect ``mindray-bs``), never a branch in the mapping code. ``match``
holds regexes searched in MSH fields (``3`` = MSH-3, the sending application) and every one
must match for ``dialect = "auto"`` to pick the file; a message no file matches, or several
files match, is read as ``generic``. Set only what differs from the defaults below, with a
comment naming the sample that shows each quirk::

    # Acme HX-9 middleware (sample: tests/corpus/lab/acme_hx9.hl7)
    description = "Acme HX-9 haematology middleware"
    match = { 3 = "^HX-9$" }
    processing_id = "trusted"          # MSH-11 T/D really means a test message
    [[qc]]                              # QC marks beyond the standard ones
    segment = "OBR"
    field = 4
    pattern = "QCRUN"
    role = "control"

The standard QC marks (:data:`STANDARD_QC`: SPM-11 from HL7 table 0369, control material in the
specimen's INV-3, SPM-4 ``QC``/``QC1``…/``CONTROL``/``CTRL…``) apply to every dialect after its
own; see :mod:`adapters.lis_analyzers.qc` for how marks become a verdict.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.dialect_files import dialect_names
from adapters.hl7.message import Segment

DIALECTS_DIR = Path(__file__).resolve().parents[1] / "lis_analyzers" / "hl7_dialects"
GENERIC = "generic"
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ROLE = r"^[a-z-]+$"


class Hl7DialectError(ValueError):
    """An unknown dialect name or a dialect file that does not validate (names the file)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Place(_Frozen):
    """A leaf of a segment: ``SPM-2.1.2`` is segment SPM, field 2, component 1, sub 2."""

    segment: str = Field(pattern=r"^[A-Z][A-Z0-9]{2}$")
    field: int = Field(ge=1)
    component: int = Field(default=1, ge=1)
    subcomponent: int = Field(default=1, ge=1)

    @property
    def label(self) -> str:
        tail = f".{self.component}" if self.component > 1 or self.subcomponent > 1 else ""
        tail += f".{self.subcomponent}" if self.subcomponent > 1 else ""
        return f"{self.segment}-{self.field}{tail}"


class QcRule(Place):
    """A specimen's role, read at this place by a pattern or a code table.

    ``pattern`` (matching the whole trimmed leaf, any case) gives ``role``; or ``table`` maps
    codes (any case) to roles, with ``otherwise`` for any other non-empty code. Named groups
    ``control``, ``lot`` and ``level`` in a pattern fill the QC event's fields.
    """

    pattern: str | None = Field(default=None, min_length=1)
    role: str | None = Field(default=None, pattern=_ROLE, description="patient, control…")
    table: dict[str, Annotated[str, Field(pattern=_ROLE)]] = Field(default_factory=dict)
    otherwise: str | None = Field(default=None, pattern=_ROLE)

    @model_validator(mode="after")
    def _one_way(self) -> QcRule:
        if (self.pattern is None) != (self.role is None):
            raise ValueError("a pattern rule needs both pattern and role")
        if (self.pattern is None) == (not self.table):
            raise ValueError("a qc rule needs either pattern and role, or table")
        if self.pattern is not None:
            try:
                _compiled(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r}: {exc}") from exc
        return self

    def read(self, text: str) -> tuple[str, re.Match[str] | None] | None:
        """The role this (trimmed, non-empty) leaf says, with the pattern's match; or None."""
        if self.pattern is not None and self.role is not None:
            found = _compiled(self.pattern).fullmatch(text)
            return (self.role, found) if found is not None else None
        role = self.table.get(text.upper(), self.otherwise)
        return (role, None) if role is not None else None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


class ObrQc(_Frozen):
    """QC sent without OBX, its value in OBR fields (Mindray BS, MSH-16 ``2``): OBR fields.

    The control's name, lot and level are the dialect's ``control``/``lot``/``level`` places.
    """

    test: int = Field(ge=1)
    test_name: int | None = Field(default=None, ge=1)
    value: int = Field(ge=1)
    unit: int | None = Field(default=None, ge=1)
    observed_at: int | None = Field(default=None, ge=1)
    targets: dict[str, int] = Field(default_factory=dict)
    """Comment name → OBR field (``mean = 18``): the control's target, kept as comments."""


class Hl7Dialect(_Frozen):
    name: str = Field(pattern=_NAME.pattern)
    description: str
    match: dict[int, str] = Field(default_factory=dict)
    """MSH field number → regex searched in its raw text; all must match (none: never)."""
    processing_id: Literal["trusted", "ignored", "unknown"] = "unknown"
    """MSH-11 ``T``/``D`` (training, debugging): trusted marks a test message, not a patient's;
    ignored when the sender fills it regardless (Boditech ``T``); unknown: not a patient's
    either, but flagged ambiguous."""
    qc: tuple[QcRule, ...] = ()
    """Vendor marks, tried before :data:`STANDARD_QC`."""
    control: tuple[Place, ...] = (
        Place(segment="INV", field=1, component=2),
        Place(segment="INV", field=1),
    )
    """Where the control material's name is, best first (IHE LAW: the specimen's INV-1)."""
    lot: tuple[Place, ...] = (Place(segment="INV", field=16),)
    level: tuple[Place, ...] = ()
    obr_specimen_fields: tuple[int, ...] = Field(default=(3, 2), min_length=1)
    """OBR fields holding the specimen id when there is no SPM-2 or SAC-3, best first."""
    obr_qc: ObrQc | None = None

    @field_validator("match")
    @classmethod
    def _compiles(cls, rules: dict[int, str]) -> dict[int, str]:
        for number, pattern in rules.items():
            if number < 3:
                raise ValueError(f"match: MSH-{number} is a delimiter, not a field to match")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match: MSH-{number} pattern {pattern!r}: {exc}") from exc
        return rules

    @property
    def qc_rules(self) -> tuple[QcRule, ...]:
        return self.qc + STANDARD_QC

    def matches(self, msh_fields: Mapping[int, str]) -> bool:
        """Whether a message whose MSH fields (number → raw text) are these is this dialect's."""
        return bool(self.match) and all(
            re.search(pattern, msh_fields.get(n, "")) for n, pattern in self.match.items()
        )


# HL7 table 0369 (SPM-11): P is a patient; every other role is not a patient's specimen.
SPECIMEN_ROLES = {
    "P": "patient",
    "Q": "control",
    "C": "calibrator",
    "V": "verifying-calibrator",
    "E": "electronic-qc",
    "B": "blind",
    "F": "proficiency",
    "O": "proficiency",
    "R": "replicate",
    "L": "pool",
    "G": "group",
}
STANDARD_QC = (
    # Any SPM-11 code not in the table is a role we cannot name: not a patient's, and flagged.
    QcRule(segment="SPM", field=11, table=SPECIMEN_ROLES, otherwise="unknown"),
    # IHE LAW: the container holds control material (INV-3, HL7 table 0384 CO) in the SPM group.
    QcRule(segment="INV", field=3, pattern="CO", role="control"),
    # Middleware and analyzers that name controls in SPM-4 (specimen type): QC, QC3, CTRL-LOW.
    QcRule(
        segment="SPM",
        field=4,
        pattern=r"(?:QC|CTRL|CONTROL)(?:[-_ ]?(?P<level>[0-9A-Z]{1,8}))?",
        role="control",
    ),
)
TEST_MESSAGE_ROLES = {"T": "training", "D": "debugging"}
"""MSH-11 (HL7 table 0103) values that are not production."""


def available_dialects() -> tuple[str, ...]:
    """Every dialect name in the dialects folder, sorted."""
    return dialect_names(DIALECTS_DIR)


@lru_cache(maxsize=32)
def load_hl7_dialect(name: str) -> Hl7Dialect:
    """The dialect ``name`` (``mindray-bs`` reads ``mindray_bs.toml``).

    Raises:
        Hl7DialectError: no such dialect, or its file is not valid TOML or not a valid dialect.
    """
    if not _NAME.fullmatch(name):
        raise Hl7DialectError(f"{name!r} is not a dialect name (lower-case words joined by -)")
    path = DIALECTS_DIR / f"{name.replace('-', '_')}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(available_dialects())
        raise Hl7DialectError(f"no HL7 dialect {name!r} (known: {known})") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Hl7DialectError(f"{path}: {exc}") from exc
    if "name" in data:
        raise Hl7DialectError(f"{path}: remove 'name': the file name is the dialect name")
    try:
        return Hl7Dialect.model_validate({"name": name, **data})
    except ValidationError as exc:
        raise Hl7DialectError(f"{path}: {exc}") from exc


def msh_fields(msh: Segment) -> dict[int, str]:
    """MSH fields by number (raw text), as ``match`` rules read them."""
    return {n: msh.field(n) for n in range(3, len(msh.fields))}


def matching_dialects(msh_fields: Mapping[int, str]) -> tuple[str, ...]:
    """Every dialect whose match rules fit this MSH (number → raw field text)."""
    return tuple(n for n in available_dialects() if load_hl7_dialect(n).matches(msh_fields))


def match_hl7_dialect(msh_fields: Mapping[int, str]) -> str:
    """The dialect for ``dialect = "auto"``: the only match, else ``generic`` (none or a tie)."""
    found = matching_dialects(msh_fields)
    return found[0] if len(found) == 1 else GENERIC
