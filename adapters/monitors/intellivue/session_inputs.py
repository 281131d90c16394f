"""What the monitor sent, named as an input of the host session's state machine.

:func:`classify` decodes one whole PDU (association or Data Export) and says which
:class:`SessionInput` it is, so :mod:`adapters.monitors.intellivue.session` maps
(state, input) pairs to handlers without looking at PDU types itself. A PDU that is no input
(an error, an operation a host may ignore) classifies as ``None``.
"""

from __future__ import annotations

import enum

from adapters.monitors.intellivue.association import (
    Abort,
    AssociationAccepted,
    AssociationRefused,
    ReleaseRequest,
    ReleaseResult,
    decode_association,
    is_association_pdu,
)
from adapters.monitors.intellivue.pdu import MdsCreateReport, PollResult, decode_data_export


class SessionInput(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    MDS_CREATE = "mds_create"
    POLL_RESULT = "poll_result"
    RELEASE_REQUEST = "release_request"
    RELEASE_RESULT = "release_result"
    ABORT = "abort"
    TIMEOUT = "timeout"


_ASSOCIATION_INPUTS: dict[type, SessionInput] = {
    AssociationAccepted: SessionInput.ACCEPTED,
    AssociationRefused: SessionInput.REFUSED,
    ReleaseRequest: SessionInput.RELEASE_REQUEST,
    ReleaseResult: SessionInput.RELEASE_RESULT,
    Abort: SessionInput.ABORT,
}


def classify(data: bytes) -> tuple[SessionInput | None, object]:
    """Decode one PDU: its input (``None`` when it is none) and the decoded PDU.

    Raises:
        PduError: the bytes are not a PDU we can read.
    """
    if is_association_pdu(data):
        association = decode_association(data)
        return _ASSOCIATION_INPUTS.get(type(association)), association
    pdu = decode_data_export(data)
    if isinstance(pdu, MdsCreateReport):
        return SessionInput.MDS_CREATE, pdu
    if isinstance(pdu, PollResult):
        return SessionInput.POLL_RESULT, pdu
    return None, pdu
