"""Philips physiological ids and unit codes as data: to IEEE 11073 MDC codes and UCUM units.

IntelliVue nomenclature codes are IEEE 11073-10101 term codes within a partition: a numeric's
``physio_id`` is in the SCADA partition (2) and its ``unit_code`` in the dimension partition
(4), and the MDC numeric code is ``partition * 65536 + term`` (PROTOCOLS §7). So
``NOM_PULS_OXIM_SAT_O2`` 0x4BB8 is ``MDC_PULS_OXIM_SAT_O2`` 150456 and ``NOM_DIM_PERCENT`` 0x0220
is ``MDC_DIM_PERCENT`` 262688, as in ``adapters/monitors/mdc_codes.toml``, which names the MDC
codes and gives their UCUM units; this module adds only the Philips side. Codes from 0xF000 up
are Philips-private (Programming Guide, e.g. ``NOM_PRESS_BLD_NONINV_PULS_RATE`` 0xF0E5) and have
no MDC code. Physio ids and dimension codes: the Programming Guide's nomenclature tables, as
reproduced in public code (see :mod:`.nomenclature`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from adapters.canonical.codes import CodedValue
from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.mdc import MDC_SYSTEM, METRICS, UNITS

PHILIPS_SYSTEM = "philips-intellivue"
PRIVATE_CODES_FROM = 0xF000
_PARTITION = 1 << 16

PHYSIO_IDS: MappingProxyType[int, tuple[str, str]] = MappingProxyType(
    {
        0x4182: ("NOM_ECG_CARD_BEAT_RATE", "Heart rate (ECG)"),
        0x4261: ("NOM_ECG_V_P_C_CNT", "PVC count"),
        0x480A: ("NOM_PULS_RATE", "Pulse rate"),
        0x4822: ("NOM_PLETH_PULS_RATE", "Pulse rate (pleth)"),
        0x4A04: ("NOM_PRESS_BLD_NONINV", "NIBP"),
        0x4A05: ("NOM_PRESS_BLD_NONINV_SYS", "NIBP systolic"),
        0x4A06: ("NOM_PRESS_BLD_NONINV_DIA", "NIBP diastolic"),
        0x4A07: ("NOM_PRESS_BLD_NONINV_MEAN", "NIBP mean"),
        0x4A10: ("NOM_PRESS_BLD_ART", "Arterial pressure"),
        0x4A11: ("NOM_PRESS_BLD_ART_SYS", "Arterial pressure, systolic"),
        0x4A12: ("NOM_PRESS_BLD_ART_DIA", "Arterial pressure, diastolic"),
        0x4A13: ("NOM_PRESS_BLD_ART_MEAN", "Arterial pressure, mean"),
        0x4A14: ("NOM_PRESS_BLD_ART_ABP", "ABP"),
        0x4A15: ("NOM_PRESS_BLD_ART_ABP_SYS", "ABP systolic"),
        0x4A16: ("NOM_PRESS_BLD_ART_ABP_DIA", "ABP diastolic"),
        0x4A17: ("NOM_PRESS_BLD_ART_ABP_MEAN", "ABP mean"),
        0x4A44: ("NOM_PRESS_BLD_VEN_CENT", "CVP"),
        0x4A47: ("NOM_PRESS_BLD_VEN_CENT_MEAN", "CVP mean"),
        0x4B48: ("NOM_TEMP", "Temperature"),
        0x4B60: ("NOM_TEMP_CORE", "Core temperature"),
        0x4B74: ("NOM_TEMP_SKIN", "Skin temperature"),
        0x4BB0: ("NOM_PULS_OXIM_PERF_REL", "Perfusion index"),
        0x4BB8: ("NOM_PULS_OXIM_SAT_O2", "SpO2"),
        0x500A: ("NOM_RESP_RATE", "Respiration rate"),
        0x5012: ("NOM_AWAY_RESP_RATE", "Airway respiration rate"),
        0x50B0: ("NOM_AWAY_CO2_ET", "EtCO2"),
        0x50BA: ("NOM_AWAY_CO2_INSP_MIN", "Inspired CO2 (minimum)"),
        0xE004: ("NOM_TEMP_RECT", "Rectal temperature"),
        0xF0E5: ("NOM_PRESS_BLD_NONINV_PULS_RATE", "Pulse rate (NIBP)"),
    }
)
"""Physio id → (Philips name, display); ids not listed are still forwarded with their hex id."""

UNIT_CODES: MappingProxyType[int, tuple[str, str]] = MappingProxyType(
    {
        0x0000: ("NOM_DIM_NOS", ""),
        0x0200: ("NOM_DIM_DIMLESS", "1"),
        0x0220: ("NOM_DIM_PERCENT", "%"),
        0x0AA0: ("NOM_DIM_BEAT_PER_MIN", "/min"),
        0x0AE0: ("NOM_DIM_RESP_PER_MIN", "/min"),
        0x09E0: ("NOM_DIM_PER_MIN", "/min"),
        0x0F20: ("NOM_DIM_MMHG", "mm[Hg]"),
        0x0F03: ("NOM_DIM_KILO_PASCAL", "kPa"),
        0x0F40: ("NOM_DIM_CM_H2O", "cm[H2O]"),
        0x17A0: ("NOM_DIM_DEGC", "Cel"),
        0x1140: ("NOM_DIM_FAHR", "[degF]"),
        0x0C00: ("NOM_DIM_X_L_PER_MIN", "L/min"),
        0x10B2: ("NOM_DIM_MILLI_VOLT", "mV"),
    }
)
"""Unit code → (Philips name, UCUM); the UCUM of ``mdc_codes.toml`` wins where it has one."""


@dataclass(frozen=True, slots=True)
class Metric:
    local: CodedValue
    mdc: CodedValue | None


def metric(physio_id: int) -> Metric:
    """The Philips code (``0x4BB8``, named ``NOM_…``) and its MDC code, when it has one."""
    name, display = PHYSIO_IDS.get(physio_id, (None, None))
    local = CodedValue(code=f"0x{physio_id:04X}", system=PHILIPS_SYSTEM, display=name)
    if physio_id >= PRIVATE_CODES_FROM:
        return Metric(local, None)
    code = str(nom.NOM_PART_SCADA * _PARTITION + physio_id)
    term = METRICS.get(code)
    mdc_display = term.display if term is not None else display
    return Metric(local, CodedValue(code=code, system=MDC_SYSTEM, display=mdc_display))


def ucum(unit_code: int) -> str | None:
    """UCUM of a unit code: from the MDC table, else ours; ``None`` when unknown or no unit."""
    mdc = UNITS.get(str(nom.NOM_PART_DIM * _PARTITION + unit_code))
    if mdc is not None:
        return mdc
    row = UNIT_CODES.get(unit_code)
    return row[1] or None if row is not None else None


def unit_name(unit_code: int) -> str:
    row = UNIT_CODES.get(unit_code)
    return row[0] if row is not None else f"0x{unit_code:04X}"
