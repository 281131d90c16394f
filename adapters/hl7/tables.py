"""The HL7 code tables behind :mod:`adapters.lis_analyzers.hl7_results`: data, not branches."""

from __future__ import annotations

from types import MappingProxyType

from adapters.canonical.codes import ResultStatus

# HL7 table 0085 (OBX-11) and 0123 (OBR-25).
STATUSES = MappingProxyType(
    {
        "F": ResultStatus.FINAL,
        "U": ResultStatus.FINAL,  # changed to final without retransmitting the value
        "C": ResultStatus.CORRECTED,
        "P": ResultStatus.PRELIMINARY,
        "R": ResultStatus.PRELIMINARY,  # entered, not verified (Boditech sends R)
        "S": ResultStatus.PRELIMINARY,  # partial
        "A": ResultStatus.PRELIMINARY,  # some, not all, results available
        "X": ResultStatus.CANCELLED,  # cannot be obtained
        "D": ResultStatus.CANCELLED,  # delete the stored result
        "W": ResultStatus.CANCELLED,  # posted in error (wrong patient)
    }
)  # I (pending), O (order only), N (not asked) and anything else: unknown
# Without OBR-25, a group is as settled as its least settled live (not cancelled) result.
GROUP_STATUS_PRECEDENCE = (
    ResultStatus.UNKNOWN,
    ResultStatus.PRELIMINARY,
    ResultStatus.CORRECTED,
    ResultStatus.FINAL,
    ResultStatus.CANCELLED,
)
SEXES = MappingProxyType(
    {"m": "male", "male": "male", "f": "female", "female": "female", "o": "other", "other": "other"}
)
NOT_RESULT_TYPES = frozenset({"ED", "NA", "MA", "RP"})
SUPPLEMENTAL = "S_OTHER"
SENTINELS = frozenset({-999.0, -99.9})
