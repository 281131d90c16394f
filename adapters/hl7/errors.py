"""Why a message was refused, in the vocabulary the ACK needs (HL7 table 0357 and MSA-1).

Every parse failure carries the acknowledgement code and the table 0357 error code it should be
answered with, so the session can answer at once without re-deriving the cause from a string.
"""

from __future__ import annotations

from typing import Literal

RejectCode = Literal["AE", "AR"]
"""Application reject codes: ``AE`` = error, the sender may retry; ``AR`` = do not retry."""

TABLE_0357: dict[int, str] = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    206: "Application record locked",
    207: "Application internal error",
}


class Hl7ParseError(ValueError):
    """Bytes that are not a usable HL7 v2 message.

    Attributes:
        reason: Human-readable cause, safe to log and to put into ERR-8 / MSA-3.
        ack_code: ``AE`` or ``AR`` (see :data:`RejectCode`).
        error_code: HL7 table 0357 code for ERR-3.
        location: Where, as ``SEG-n`` (e.g. ``MSH-18``), or ``None`` when not one field.
    """

    def __init__(
        self, reason: str, ack_code: RejectCode, error_code: int, location: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ack_code: RejectCode = ack_code
        self.error_code = error_code
        self.location = location
