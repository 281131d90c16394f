"""Acknowledgement messages (ACK) for received HL7 v2 messages, as bytes without MLLP framing.

The layout follows the message's own version so the ACK validates for it (checked with hl7apy
STRICT in the tests): MSH-9 has the ``ACK`` structure component only from v2.3.1 on, the ERR
segment moved from ERR-1 (ELD) to ERR-2/3/4/8 in v2.5, and MSA-3 was withdrawn in v2.7 (the text
then travels in ERR-8 only). The ACK reuses the message's delimiters and charset and echoes its
MSH-3/4 (swapped), MSH-10 (into MSA-2), MSH-11, MSH-12 and MSH-18 raw, byte for byte.

Mindray lab analyzers put a result kind (``0`` patient, ``1`` calibration, ``2`` QC) into MSH-16
and expect it back, so any MSH-16 that is not an acknowledgement condition is echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from adapters.hl7.errors import TABLE_0357
from adapters.hl7.escape import escape
from adapters.hl7.message import Delimiters, Message
from adapters.hl7.parse import salvage_header

ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
ACK_CONDITIONS = frozenset({"AL", "ER", "SU", "NE"})
"""HL7 table 0155 values of MSH-15/MSH-16."""

_ERROR_CODES = frozenset({"AE", "AR", "CE", "CR"})
_DEFAULT_VERSION = "2.5.1"
_MSH9_STRUCTURE_SINCE = (2, 3, 1)
_ERR_V25_SINCE = (2, 5)
_MSA3_WITHDRAWN_SINCE = (2, 7)
_UNSAFE_IN_ECHO = re.compile("[\r\n\x0b\x1c]")
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)")


@dataclass(frozen=True, slots=True)
class AckError:
    """What went wrong, for the ERR segment.

    Attributes:
        code: HL7 table 0357 code (ERR-3, or ERR-1.4 before v2.5).
        message: Free text for the user (ERR-8; MSA-3 when no other text is given).
        location: ``SEG-n`` or ``SEG[k]-n`` (k-th such segment), e.g. ``OBX[4]-5``.
    """

    code: int = 207
    message: str = ""
    location: str | None = None


def _version(message: Message) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in message.version.split("."))
    except ValueError:
        return tuple(int(part) for part in _DEFAULT_VERSION.split("."))


def _location(error: AckError, component: str) -> str:
    match = _LOCATION.fullmatch(error.location or "")
    if match is None:
        return ""
    segment, sequence, field = match.groups()
    return component.join((segment, sequence or "1", field))


def _err(message: Message, error: AckError, version: tuple[int, ...]) -> list[str]:
    d = message.delimiters
    location = _location(error, d.component)
    meaning = escape(TABLE_0357.get(error.code, ""), d)
    if version >= _ERR_V25_SINCE:
        code = d.component.join((str(error.code), meaning, "HL70357"))
        return ["ERR", "", location, code, "E", "", "", "", escape(error.message, d)]
    code = d.subcomponent.join((str(error.code), meaning, "HL70357"))
    return ["ERR", d.component.join((location or d.component * 2, code))]


def _echo(raw_field: str, d: Delimiters) -> str:
    r"""A field echoed byte for byte, except what would end a segment or the MLLP frame.

    A parsed message cannot hold those, but a header salvaged from garbage can (issue 11,
    defect 7): they go back as ``\Xhh\`` escapes, so the answer is always a valid frame.
    """
    if not _UNSAFE_IN_ECHO.search(raw_field):
        return raw_field
    return _UNSAFE_IN_ECHO.sub(lambda m: f"{d.escape}X{ord(m.group()):02X}{d.escape}", raw_field)


def _timestamp(now: datetime | None) -> str:
    now = now or datetime.now().astimezone()
    return now.strftime("%Y%m%d%H%M%S%z")


def build_ack(
    message: Message,
    code: str,
    *,
    text: str = "",
    error: AckError | None = None,
    sending_application: str = "WARDLINK",
    sending_facility: str = "",
    now: datetime | None = None,
    control_id: str,
) -> bytes:
    """ACK for ``message``: MSH + MSA (+ ERR for AE/AR/CE/CR), CR-separated, in its charset.

    Raises:
        ValueError: ``code`` is not one of :data:`ACK_CODES`.
    """
    if code not in ACK_CODES:
        raise ValueError(f"not an acknowledgement code: {code!r}")
    d = message.delimiters
    msh = message.msh
    version = _version(message)
    trigger = escape(msh.component(9, 2), d)
    structure = ("ACK", trigger, "ACK") if version >= _MSH9_STRUCTURE_SINCE else ("ACK", trigger)
    header = [
        "MSH",
        d.component + d.repetition + d.escape + d.subcomponent,
        escape(sending_application, d),
        escape(sending_facility, d),
        _echo(msh.field(3), d),
        _echo(msh.field(4), d),
        _timestamp(now),
        "",
        d.component.join(structure),
        escape(control_id, d),
        _echo(msh.field(11), d) or "P",
        _echo(msh.field(12), d) or _DEFAULT_VERSION,
        *[""] * 3,
        "" if msh.text(16) in ACK_CONDITIONS else _echo(msh.field(16), d),
        "",
        _echo(msh.field(18), d),
    ]
    if code in _ERROR_CODES:
        error = error or AckError(message=text)
    text = text or (error.message if error else "")
    msa = ["MSA", code, _echo(msh.field(10), d)]
    if text and version < _MSA3_WITHDRAWN_SINCE:
        msa.append(escape(text, d))
    segments = [header, msa]
    if code in _ERROR_CODES and error is not None:
        segments.append(_err(message, error, version))
    body = "".join(d.field.join(fields).rstrip(d.field) + "\r" for fields in segments)
    return body.encode(message.encoding, errors="replace")


def build_reject_for_unparseable(
    raw: bytes,
    reason: str,
    *,
    code: str = "AR",
    error_code: int = 207,
    location: str | None = None,
    sending_application: str = "WARDLINK",
    sending_facility: str = "",
    now: datetime | None = None,
    control_id: str,
) -> bytes:
    """A reject for bytes that did not parse, addressed from whatever MSH could be salvaged."""
    return build_ack(
        salvage_header(raw),
        code,
        text=reason,
        error=AckError(error_code, reason, location),
        sending_application=sending_application,
        sending_facility=sending_facility,
        now=now,
        control_id=control_id,
    )
