"""Which coded PCD-01 rows (OBX-2 ``CWE``/``CNE``/``CE``/``CF``) are observations of the patient.

A PCD-01 message describes the device as well as the patient: containment rows name the MDS,
VMD and channel (OBX-4 ``1``, ``1.1``, ``1.1.1``, or GE's ``1.13.0.0``), and attribute rows
describe them (model, system type, device status, time synchronisation). Both can be typed
``CWE``. IEEE 11073-10101 puts those codes in their own nomenclature partitions (the code in
OBX-3.1 is ``partition * 65536 + term``):

- partition 1, ``MDC_PART_OBJ``: object classes and attributes, ``MDC_DEV_*`` (``69965``
  ``MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS``), ``MDC_ATTR_*`` (``67975`` ``MDC_ATTR_TIME_ABS``),
  ``68220`` ``MDC_TIME_SYNC_PROTOCOL``;
- partition 8, ``MDC_PART_INFRA``: device specialisations, ``528391``
  ``MDC_DEV_SPEC_PROFILE_BP``.

A row whose OBX-3 is an MDC code in one of those partitions, or whose MDC reference id names a
device, an attribute or a clock (a vendor's ``0^MDCX_…`` has no usable number), describes the
device and is not an observation of the patient. Anything else coded - a posture, a ventilator
mode in partition 2 (``MDC_PART_SCADA``, where the metrics are), a vendor's private code - is
carried (``reported.kind = "coded"``): an observation the gateway cannot classify is forwarded,
unmapped, rather than dropped. docs/mqtt-contract.md states the rule.
"""

from __future__ import annotations

from adapters.canonical.codes import CodedValue
from adapters.monitors.mdc import MDC_SYSTEM

PARTITION_SIZE = 1 << 16
DEVICE_PARTITIONS = frozenset({1, 8})  # MDC_PART_OBJ, MDC_PART_INFRA
DEVICE_REF_PREFIXES = ("MDC_DEV_", "MDC_ATTR_", "MDC_TIME_", "MDCX_DEV_", "MDCX_ATTR_")


def describes_device(local: CodedValue) -> bool:
    """OBX-3 names the device, one of its attributes or its clock, not a patient observation."""
    if local.system.upper() != MDC_SYSTEM:
        return False
    code = local.code.strip()
    if code.isdigit() and int(code) // PARTITION_SIZE in DEVICE_PARTITIONS:
        return True
    return (local.display or "").strip().upper().startswith(DEVICE_REF_PREFIXES)
