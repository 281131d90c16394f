"""IEEE 11073 MDC lookups loaded once from ``mdc_codes.toml``: metric codes, units, alarm rows.

The nomenclature is data, not code, so a new monitor's codes are added without touching the
mappers. Lookups are read-only mappings keyed by the numeric code as text, exactly as OBX-3.1 and
OBX-6.1 carry it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

from adapters.units import to_ucum

MDC_SYSTEM = "MDC"
UCUM_SYSTEM = "UCUM"
AlarmRole = Literal["source", "phase", "state", "inactivation", "priority", "type", "text"]


@dataclass(frozen=True, slots=True)
class MdcTerm:
    """A metric: reference id (``MDC_…``), a human name and the UCUM unit it is usually in."""

    code: str
    ref: str
    display: str
    unit: str


def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("mdc_codes.toml").read_text("utf-8")
    return tomllib.loads(text)


def _roles(table: Mapping[str, Any]) -> MappingProxyType[str, AlarmRole]:
    allowed = get_args(AlarmRole)
    roles = {code: row["role"] for code, row in table.items()}
    unknown = sorted(set(roles.values()) - set(allowed))
    if unknown:
        raise ValueError(f"mdc_codes.toml: unknown alarm attribute roles {unknown}")
    return MappingProxyType(cast(dict[str, AlarmRole], roles))


_DATA = _load()
METRICS: Mapping[str, MdcTerm] = MappingProxyType(
    {code: MdcTerm(code, **row) for code, row in _DATA["metrics"].items()}
)
UNITS: Mapping[str, str] = MappingProxyType(
    {code: row["ucum"] for code, row in _DATA["units"].items()}
)
UNIT_SPELLINGS: Mapping[str, str] = MappingProxyType(dict(_DATA["unit_spellings"]))
ALARM_ATTRIBUTES: Mapping[str, AlarmRole] = _roles(_DATA["alarm_attributes"])


@lru_cache(maxsize=1024)
def ucum_unit(code: str, text: str, system: str, alt_code: str = "", alt_system: str = "") -> str:
    """The UCUM unit of an OBX-6 ``code^text^system^alt code^alt text^alt system``.

    An MDC unit code we know wins; then a UCUM code in either triplet; then a known spelling of
    the text; else the text (or code) as sent, spelling-normalised by :func:`to_ucum`.
    """
    if system.upper() == MDC_SYSTEM and code in UNITS:
        return UNITS[code]
    for candidate, candidate_system in ((code, system), (alt_code, alt_system)):
        if candidate and candidate_system.upper() == UCUM_SYSTEM:
            return candidate
    sent = (text or code) if system.upper() == MDC_SYSTEM else (code or text)
    return UNIT_SPELLINGS.get(sent.replace(" ", "").lower()) or to_ucum(sent)
