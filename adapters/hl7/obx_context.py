"""OBX context the lab and the monitor paths both carry (schema 1.1).

What tells two observations of one code apart, and how and with what they were measured:

- OBX-4 sub-id as sent (``1.3.1``): an IHE PCD monitor's two SpO2 channels share OBX-3.
- OBX-17 observation method (CWE), e.g. ``AMEAS`` (IHE PCD) or a lab's method code.
- OBX-18 equipment instance identifiers (EI, repeating): LAW ``model^maker~serial^maker``;
  each becomes a code with its namespace as system, else its universal id type (Mindray VS900
  ``00A0370098007A80^^00A0370098007A80^EUI-64``), else ``local``.
"""

from __future__ import annotations

from adapters.canonical.codes import CodedValue
from adapters.hl7.fields import leaf
from adapters.hl7.message import Segment

LOCAL_SYSTEM = "local"


def obx_sub_id(obx: Segment) -> str | None:
    return leaf(obx, 4)


def obx_method(obx: Segment) -> CodedValue | None:
    code = leaf(obx, 17)
    if code is None:
        return None
    return CodedValue(code=code, system=leaf(obx, 17, 3) or LOCAL_SYSTEM, display=leaf(obx, 17, 2))


def obx_equipment(obx: Segment) -> list[CodedValue] | None:
    """``None`` when not sent: a monitor's every observation would otherwise carry ``[]``."""
    found = [
        CodedValue(
            code=code,
            system=leaf(obx, 18, 2, rep=rep) or leaf(obx, 18, 4, rep=rep) or LOCAL_SYSTEM,
        )
        for rep in range(len(obx.repetitions(18)))
        if (code := leaf(obx, 18, rep=rep)) is not None
    ]
    return found or None
