r"""Vendor ASTM dialects as data: where each analyzer puts what E1394 leaves open.

Analyzers agree on the record grammar but not on where the specimen id lives, which component
of R-3 is the test code or what an R-7 flag means (PROTOCOLS §3), so each quirk is a field of a
:class:`Dialect` read from ``adapters/lis_analyzers/dialects/<name>.toml`` (``sysmex_xn.toml`` is
dialect ``sysmex-xn``), never a branch in the mapping code. To add one, copy ``generic.toml``,
set ``match`` (regexes searched in H fields, usually H-5, the sender, naming the model) so
``dialect = "auto"`` finds it and no other dialect's rules fit the same header (auto takes only
an unambiguous match, ADR 0016), and set only what differs from the defaults below, with a
comment naming the sample that shows each quirk; the tests over the folder validate the file
and check every corpus header fits at most one dialect. Fields an analyzer moves are set in
``patient_fields``/``order_fields``/``result_fields`` (:mod:`adapters.astm.dialect_fields`).
Maps (``flag_map``, ``status_map``, ``unit_map``) extend the E1394 tables, and ``roles``
extends the standard QC rules (H-12 ``Q``, O-12 ``Q``): a rule compares a ``value`` or fully
matches a ``pattern`` (named groups ``control``, ``lot``, ``level`` fill the QC event), and
``[qc]`` names the O fields holding a control's name, lot and level::

    # Acme AX-100 (sample: tests/corpus/astm/records/acme_ax100.astm)
    description = "Acme AX-100 chemistry"
    manufacturer = "Acme"
    match = { 5 = "^AX-100\\^" }
    specimen_id = [{ field = 4, component = 1 }]   # barcode in O-4, O-3 is the cup
    test_code_components = [1]                    # R-3 "12^GLU": channel number
    test_name_component = 2
    [flag_map]
    HIGH = "H"
    [[roles]]
    record = "H"
    field = 12
    value = "QR"
    role = "control"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.astm.dialect_fields import OrderFields, PatientFields, RecordType, ResultFields
from adapters.canonical.codes import ResultStatus
from adapters.dialect_files import dialect_names

DIALECTS_DIR = Path(__file__).resolve().parents[1] / "lis_analyzers" / "dialects"
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# E1394 R-9 result status and O-26 report type; anything else (I pending, Q, Y, Z…) is unknown.
STANDARD_STATUSES = MappingProxyType(
    {
        "F": ResultStatus.FINAL,
        "V": ResultStatus.FINAL,  # verified
        "R": ResultStatus.FINAL,  # previously transmitted: a final result sent again
        "C": ResultStatus.CORRECTED,
        "P": ResultStatus.PRELIMINARY,
        "X": ResultStatus.CANCELLED,  # cannot be done
    }
)


class DialectError(ValueError):
    """An unknown dialect name or a dialect file that does not validate (names the file)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldRef(_Frozen):
    """A place in a record: a field (the type letter is field 1) and a component."""

    field: int = Field(ge=2)
    component: int = Field(default=1, ge=1)


class RoleRule(_Frozen):
    """A specimen that is not a patient's: a control or calibrator when the value matches."""

    record: Literal["H", "O"]
    field: int = Field(ge=2)
    component: int = Field(default=1, ge=1)
    value: str | None = Field(
        default=None, min_length=1, description="compared trimmed and case-insensitively"
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        description="instead of value: a regex the trimmed text must fully match (any case); "
        "named groups control, lot and level fill the QC event",
    )
    role: str = Field(pattern=r"^[a-z-]+$", description="e.g. control, calibrator")

    @model_validator(mode="after")
    def _value_or_pattern(self) -> RoleRule:
        if (self.value is None) == (self.pattern is None):
            raise ValueError("a role rule needs exactly one of value and pattern")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r}: {exc}") from exc
        return self

    def search(self, text: str) -> re.Match[str] | None:
        """The match when ``text`` (a field's component) says this role."""
        expected = re.escape(self.value) if self.value is not None else self.pattern or ""
        return re.fullmatch(expected, text.strip(), re.IGNORECASE)


class QcFields(_Frozen):
    """Where a control's details sit in its O record, best first (only read for QC)."""

    control: tuple[FieldRef, ...] = ()
    lot: tuple[FieldRef, ...] = ()
    level: tuple[FieldRef, ...] = ()


class SenderLayout(_Frozen):
    """Which H-5 component holds what (``0`` when the sender omits it)."""

    manufacturer: int = Field(default=0, ge=0)
    model: int = Field(default=1, ge=0)
    software: int = Field(default=2, ge=0)
    serial: int = Field(default=3, ge=0)


class Dialect(_Frozen):
    name: str = Field(pattern=_NAME.pattern)
    description: str
    manufacturer: str | None = Field(default=None, description="when H-5 does not name it")
    match: dict[int, str] = Field(default_factory=dict)
    """H field number → regex searched in its raw text; all must match (none: never matches)."""
    line_ending: Literal["cr", "lf", "any"] = "cr"
    checksum_required: bool = Field(default=True, description="link layer: NAK bad checksums")
    lf_required: bool = Field(default=False, description="link layer: frames end CR LF")
    specimen_id: tuple[FieldRef, ...] = (FieldRef(field=3), FieldRef(field=4))
    """Places of the specimen id in the O record, best first."""
    test_code_components: tuple[int, ...] = Field(default=(4,), min_length=1)
    """R-3 / O-5 components holding the local test code, best first (``^^^GLU``: 4)."""
    code_suffix_separator: str | None = None
    """Cut the code here: Roche ``798/1/not`` is application ``798``, dilution, pre-dilution."""
    test_name_component: int | None = Field(default=None, ge=1)
    test_qualifier_component: int | None = Field(default=None, ge=-1)
    """R-3 component that tells rows of one test apart; ``-1`` is the last (ARCHITECT ``F``)."""
    plain_qualifiers: tuple[str, ...] = ("F",)
    """Qualifiers that keep the bare code; others give ``"<code> [<qualifier>]"``."""
    loinc_component: int | None = Field(default=None, ge=1)
    sender: SenderLayout = SenderLayout()
    flag_map: dict[str, str] = Field(default_factory=dict)
    status_map: dict[str, ResultStatus] = Field(default_factory=dict)
    unit_map: dict[str, str] = Field(default_factory=dict)
    """Vendor unit spellings to UCUM, tried before :func:`adapters.units.to_ucum`."""
    decimal_comma: bool = False
    """Values are written ``7,41`` (European analyzers); without it a comma is never a decimal."""
    rack: FieldRef | None = None
    """O record place of the rack or carrier (Roche O-4.2 ``30064``, ARCHITECT O-4.2 ``A035``)."""
    position: FieldRef | None = None
    """O record place of the position in the rack (Roche O-4.3 ``064``, ARCHITECT O-4.3)."""
    placeholder_dates: tuple[str, ...] = ()
    """Date prefixes meaning "no date" (Phadia ``18991230``)."""
    roles: tuple[RoleRule, ...] = ()
    qc: QcFields = QcFields()
    query_specimen_components: tuple[int, ...] = Field(default=(2, 1), min_length=1)
    """Q-3 components holding the specimen id, best first (``^SID``: 2; Roche ``^^SID^…``: 3)."""
    order_position_from_query: bool = False
    """Echo the Q-3 components after the specimen id in O-4 (Roche rack and position)."""
    no_information: Literal["terminator", "echo-query", "no-order"] = "terminator"
    """The reply when the host has no orders: ``H``+``L|1|I``; ``H``+the ``Q``+``L|1|I``
    (Siemens Centaur); or an ``O`` per specimen with report type ``Y`` (no order)."""
    patient_fields: PatientFields = PatientFields()
    order_fields: OrderFields = OrderFields()
    result_fields: ResultFields = ResultFields()
    """Field positions where the analyzer moves them (:mod:`adapters.astm.dialect_fields`)."""
    ignored_fields: dict[RecordType, tuple[Annotated[int, Field(ge=1, le=99)], ...]] = Field(
        default_factory=dict
    )
    """Fields this analyzer fills that are knowingly not carried (each with a comment why);
    any other non-empty field no rule reads is counted as unread."""

    @field_validator("match")
    @classmethod
    def _compiles(cls, rules: dict[int, str]) -> dict[int, str]:
        for number, pattern in rules.items():
            if number < 2:
                msg = f"match: H field {number} does not exist (H-2 is the delimiters)"
                raise ValueError(msg)
            try:
                re.compile(pattern)
            except re.error as exc:
                msg = f"match: H-{number} pattern {pattern!r}: {exc}"
                raise ValueError(msg) from exc
        return rules

    @property
    def role_rules(self) -> tuple[RoleRule, ...]:
        """This dialect's rules, then the E1394 ones."""
        return self.roles + STANDARD_ROLES

    def status(self, code: str) -> ResultStatus:
        """An R-9 status or O-26 report type, this dialect's meaning first."""
        code = code.strip().upper()
        found = self.status_map.get(code) or STANDARD_STATUSES.get(code)
        return found or ResultStatus.UNKNOWN

    def matches(self, header_fields: Sequence[str]) -> bool:
        """Whether an H record (raw fields, ``header_fields[0] == "H"``) is this dialect's."""
        return bool(self.match) and all(
            re.search(pattern, header_fields[n - 1] if n <= len(header_fields) else "")
            for n, pattern in self.match.items()
        )


STANDARD_ROLES = (
    RoleRule(record="H", field=12, value="Q", role="control"),  # processing ID: QC message
    RoleRule(record="O", field=12, value="Q", role="control"),  # action code: QC specimen
)


def available_dialects() -> tuple[str, ...]:
    """Every dialect name in the dialects folder, sorted."""
    return dialect_names(DIALECTS_DIR)


@lru_cache(maxsize=32)
def load_dialect(name: str) -> Dialect:
    """The dialect ``name`` (``sysmex-xn`` reads ``sysmex_xn.toml``).

    Raises:
        DialectError: no such dialect, or its file is not valid TOML or not a valid dialect.
    """
    if not _NAME.fullmatch(name):
        raise DialectError(f"{name!r} is not a dialect name (lower-case words joined by -)")
    path = DIALECTS_DIR / f"{name.replace('-', '_')}.toml"
    if not path.is_file():
        known = ", ".join(available_dialects())
        raise DialectError(f"no ASTM dialect {name!r} (known: {known})")
    return dialect_from_file(path, name)


def dialect_from_file(path: Path, name: str) -> Dialect:
    """A dialect file read and validated (tests use fixtures outside the dialects folder).

    Raises:
        DialectError: the file is unreadable, not valid TOML or not a valid dialect.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DialectError(f"{path}: {exc}") from exc
    if "name" in data:
        raise DialectError(f"{path}: remove 'name': the file name is the dialect name")
    try:
        return Dialect.model_validate({"name": name, **data})
    except ValidationError as exc:
        raise DialectError(f"{path}: {exc}") from exc


def dialect_candidates(header_fields: Sequence[str]) -> tuple[str, ...]:
    """Every dialect (by name) whose match rules fit this H record."""
    return tuple(n for n in available_dialects() if load_dialect(n).matches(header_fields))


def match_dialect(header_fields: Sequence[str]) -> str | None:
    """The dialect for ``dialect = "auto"``: the one whose rules fit, else ``None``.

    ``None`` also when several fit: choosing one of them by name would be a silent guess (a
    Mindray BC haematology analyzer read with the Mindray CL immunoassay layout loses its test
    codes), so the caller falls back to ``generic`` and says so (ADR 0016).
    """
    candidates = dialect_candidates(header_fields)
    return candidates[0] if len(candidates) == 1 else None
