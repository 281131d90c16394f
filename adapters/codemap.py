"""Hospital-editable code maps: an analyzer's local test code to the hospital code and LOINC.

The lab, not the gateway's authors, owns these mappings (DESIGN.md, "Vietnam context"), so they
live in a CSV file a lab technician can edit in a spreadsheet: UTF-8 (a BOM from "CSV UTF-8" is
accepted), lines starting with ``#`` are comments, then a header row and one row per code::

    source,local_code,hospital_code,hospital_name,loinc,loinc_name,unit
    mindray-bc,6690-2,H17,Số lượng bạch cầu,6690-2,Leukocytes [#/volume] in Blood,10*9/L

``source`` is a device id, a dialect name (``mindray-bc``: every analyzer read with that
dialect), or ``*`` for rows that hold for every analyzer; the first of these that has a row
for the code wins. Two
optional columns, ``national_code`` and ``national_name``, give the Vietnamese national shared
catalogue of paraclinical indicators (QĐ 1227/QĐ-BYT 2025, 7-digit codes such as ``1000001``
for the RBC count; PROTOCOLS §14), carried as system :data:`NATIONAL_SYSTEM`. A row needs a
hospital code, a LOINC code or a national code. A broken file is refused as a whole with the
file, line and column of the first problem: a half-loaded map would silently unmap results.
Quoted fields must stay on one line (spreadsheets never need more).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from adapters.canonical.codes import CodedValue

ANY_SOURCE = "*"
COLUMNS = ("source", "local_code", "hospital_code", "hospital_name", "loinc", "loinc_name", "unit")
OPTIONAL_COLUMNS = ("national_code", "national_name")
NATIONAL_SYSTEM = "VN-QD1227"
_LOINC = re.compile(r"\d{1,7}-\d")
_NATIONAL = re.compile(r"[0-9]{7}")


class CodeMapError(ValueError):
    """A code map file that cannot be used; the message names file, line and column."""


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One mapping row. Empty optional cells are ``None``."""

    source: str
    local_code: str
    hospital_code: str | None
    hospital_name: str | None
    loinc: str | None
    loinc_name: str | None
    unit: str | None
    """The UCUM unit the hospital reports this code in (informative: values are not converted)."""
    national_code: str | None = None
    """QĐ 1227/QĐ-BYT indicator code (system :data:`NATIONAL_SYSTEM`)."""
    national_name: str | None = None

    @property
    def national(self) -> CodedValue | None:
        """The national catalogue code as an observation carries it, when the row has one."""
        if self.national_code is None:
            return None
        return CodedValue(
            code=self.national_code, system=NATIONAL_SYSTEM, display=self.national_name
        )


@dataclass(frozen=True, slots=True)
class CodeMap:
    """An immutable set of mappings keyed by (source, local code)."""

    entries: Mapping[tuple[str, str], CodeEntry] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def empty(cls) -> CodeMap:
        """A map with no rows: every result is forwarded as unmapped (a valid configuration)."""
        return cls()

    def lookup(
        self, source: str, local_code: str, *, dialect: str | None = None
    ) -> CodeEntry | None:
        """The row for this device's code, else its dialect's, else the ``*`` row, else ``None``.

        A lab keys a row by device id when two analyzers of one model code differently, and by
        dialect name (``mindray-bc``) for every analyzer of a model.
        """
        for key in (source, dialect, ANY_SOURCE):
            if key is not None and (entry := self.entries.get((key, local_code))) is not None:
                return entry
        return None

    def __len__(self) -> int:
        return len(self.entries)


def loinc_check_digit_ok(code: str) -> bool:
    """Whether a LOINC code's last digit is its mod-10 check digit (catches typed-in typos)."""
    if not _LOINC.fullmatch(code):
        return False
    total = 0
    for position, char in enumerate(reversed(code.replace("-", ""))):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def load_code_map(path: Path | str) -> CodeMap:
    """Read and validate a code map CSV.

    Raises:
        CodeMapError: unreadable or non-UTF-8 file, missing or unknown columns, a row with the
            wrong number of cells, an empty key, a row with neither code, a malformed LOINC code
            or a duplicate (source, local code).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodeMapError(f"{path}: cannot read code map ({exc.strerror})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CodeMapError(f"{path}:{line}: not UTF-8 (save the sheet as 'CSV UTF-8')") from exc
    rows = [
        (number, cells)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
        for cells in csv.reader([line])
    ]
    if not rows:
        return CodeMap()
    (header_line, header), body = rows[0], rows[1:]
    columns = _check_header(path, header_line, [cell.strip() for cell in header])
    entries: dict[tuple[str, str], CodeEntry] = {}
    lines: dict[tuple[str, str], int] = {}
    for number, cells in body:
        entry = _entry(path, number, columns, cells)
        key = (entry.source, entry.local_code)
        if key in entries:
            raise CodeMapError(
                f"{path}:{number}: column {columns['local_code'] + 1} (local_code): "
                f"duplicate of line {lines[key]} "
                f"for source {entry.source!r} and code {entry.local_code!r}"
            )
        entries[key] = entry
        lines[key] = number
    return CodeMap(MappingProxyType(entries))


def _check_header(path: Path, line: int, header: list[str]) -> dict[str, int]:
    unknown = [name for name in header if name not in COLUMNS + OPTIONAL_COLUMNS]
    missing = [name for name in COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise CodeMapError(
            f"{path}:{line}: header must name the columns {', '.join(COLUMNS)} once each, "
            f"optionally {', '.join(OPTIONAL_COLUMNS)} "
            f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'})"
        )
    return {name: header.index(name) for name in COLUMNS + OPTIONAL_COLUMNS if name in header}


def _entry(path: Path, line: int, columns: dict[str, int], cells: list[str]) -> CodeEntry:
    if len(cells) != len(columns):
        raise CodeMapError(f"{path}:{line}: {len(cells)} cells, the header has {len(columns)}")
    values = dict.fromkeys(OPTIONAL_COLUMNS) | {
        name: cells[index].strip() or None for name, index in columns.items()
    }

    def fail(name: str, problem: str) -> CodeMapError:
        return CodeMapError(f"{path}:{line}: column {columns[name] + 1} ({name}): {problem}")

    source, local_code, loinc = values["source"], values["local_code"], values["loinc"]
    if source is None:
        raise fail("source", "empty (use * for any analyzer)")
    if local_code is None:
        raise fail("local_code", "empty")
    national = values["national_code"]
    if loinc is None and values["hospital_code"] is None and national is None:
        raise fail("hospital_code", "a row needs a hospital code, a LOINC code or a national code")
    if loinc is not None and not loinc_check_digit_ok(loinc):
        raise fail("loinc", f"{loinc!r} is not a LOINC code (NNNNN-C with a valid check digit)")
    if national is not None and not _NATIONAL.fullmatch(national):
        raise fail("national_code", f"{national!r} is not a QĐ 1227 code (7 digits, e.g. 1000001)")
    return CodeEntry(
        source=source,
        local_code=local_code,
        hospital_code=values["hospital_code"],
        hospital_name=values["hospital_name"],
        loinc=loinc,
        loinc_name=values["loinc_name"],
        unit=values["unit"],
        national_code=national,
        national_name=values["national_name"],
    )
