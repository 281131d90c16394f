"""Vendor unit strings to UCUM, as a data table.

Analyzers spell units their own way (``10^9/L``, ``g/dl``, ``Copies / mL``); the canonical event
carries UCUM so consumers compare like with like. Only spelling is normalised here, never the
quantity: converting g/L to g/dL changes the value and is a per-profile decision (PROTOCOLS §14).
Units not in the table pass through unchanged, so nothing the device said is lost.
"""

from __future__ import annotations

from types import MappingProxyType

# Keys are matched after lower-casing and removing spaces, so list only spellings whose lower-case
# form is unambiguous: never a milli/mega pair such as mU/L and MU/L, and never g/L, because
# Vietnamese reports write 10^9/L as "G/L" (giga per litre) as well as grams per litre.
_TO_UCUM = MappingProxyType(
    {
        "10^9/l": "10*9/L",
        "x10^9/l": "10*9/L",
        "10e9/l": "10*9/L",
        "10*9/l": "10*9/L",
        "10^12/l": "10*12/L",
        "x10^12/l": "10*12/L",
        "10e12/l": "10*12/L",
        "10*12/l": "10*12/L",
        "10^3/ul": "10*3/uL",
        "10^6/ul": "10*6/uL",
        "g/dl": "g/dL",
        "mg/dl": "mg/dL",
        "mg/l": "mg/L",
        "ug/dl": "ug/dL",
        "µg/dl": "ug/dL",
        "ng/ml": "ng/mL",
        "pg/ml": "pg/mL",
        "%": "%",
        "fl": "fL",
        "pg": "pg",
        "mmol/l": "mmol/L",
        "umol/l": "umol/L",
        "µmol/l": "umol/L",
        "mmol/mol": "mmol/mol",
        "meq/l": "meq/L",
        "l/l": "L/L",
        "ml/l": "mL/L",
        "copies/ml": "{copies}/mL",
        "cp/ml": "{copies}/mL",
        "iu/ml": "[IU]/mL",
        "iu/l": "[IU]/L",
        "miu/ml": "m[IU]/mL",
        "uiu/ml": "u[IU]/mL",
        "µiu/ml": "u[IU]/mL",
        "u/l": "U/L",
        "sec": "s",
        "mm/h": "mm/h",
        "mm/hr": "mm/h",
    }
)


def to_ucum(unit: str) -> str:
    """The UCUM spelling of a vendor unit, or the unit as sent when the table does not know it."""
    return _TO_UCUM.get(unit.replace(" ", "").lower(), unit)
