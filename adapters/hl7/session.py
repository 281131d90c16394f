"""HL7 v2 over MLLP, receiver side, sans-IO, with the durable-ACK handshake (h11 style).

Bytes go in through :meth:`Hl7Session.receive_data`; :meth:`Hl7Session.events` returns each
complete message as :class:`MessageReceived` and holds its positive ACK until the caller has
stored it and calls :meth:`Hl7Session.accept` (or :meth:`Hl7Session.reject`). Nothing positive
is ever queued before ``accept`` ("never acknowledge what is not durable").

Choices:

- **Order.** ACKs leave in message order: one held message holds back the answers to everything
  after it, as a pipelining sender expects.
- **Ack mode** (:data:`_SENT_WHEN`). Original mode unless MSH-15 or MSH-16 is a table 0155 value
  (``AL/ER/SU/NE``): then the commit ACK (``CA/CE/CR``) follows MSH-15 and the application ACK
  follows MSH-16, a missing or non-0155 condition counting as ``NE``. So PCD-01 ``AL|NE`` gets
  ``CA`` only, IHE LAW ``NE|AL`` gets ``AA`` only, and Mindray BS's MSH-16 ``0/1/2`` stays in
  original mode.
- **Refusals the caller cannot store** (framing errors, oversized, unparseable, wrong charset)
  surface as :class:`MessageRejected` and are answered by the session at once with ``AR`` (``AE``
  for bytes invalid in the charset), addressed from the salvaged MSH. A frame abandoned by a new
  start block is reported but not answered: the sender is retransmitting it, and a reject quoting
  the same MSH-10 would race the real answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from adapters.hl7.ack import ACK_CONDITIONS, AckError, build_ack
from adapters.hl7.errors import Hl7ParseError, RejectCode
from adapters.hl7.message import Message
from adapters.hl7.parse import parse_message, salvage_header
from adapters.mllp import Frame, FramingError, MllpReceiver, encode_frame


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """Already handled by the session; the caller only counts and keeps it (quarantine).

    ``ack_code`` is what was answered, or ``""`` for an abandoned partial frame (not answered).
    """

    reason: str
    ack_code: str
    raw: bytes


Event = MessageReceived | MessageRejected

_SENT_WHEN: dict[bool, frozenset[str]] = {
    True: frozenset({"AL", "SU"}),
    False: frozenset({"AL", "ER"}),
}
"""Accepted? -> the MSH-15/MSH-16 conditions that ask for an answer (table 0155)."""

_COMMIT_CODE = {"AA": "CA", "AE": "CE", "AR": "CR"}

_FRAMING_ERROR_CODES: dict[str, int | None] = {"garbage": 100, "oversized": 207, "restarted": None}
"""Table 0357 code answered per :class:`FramingError` kind; ``None``: not answered."""


def _ack_codes(message: Message, code: str) -> list[str]:
    """MSA-1 codes owed for ``message`` resolved with application code ``code``."""
    commit, application = message.msh.text(15), message.msh.text(16)
    if commit not in ACK_CONDITIONS and application not in ACK_CONDITIONS:
        return [code]
    wanted = _SENT_WHEN[code == "AA"]
    return [_COMMIT_CODE[code]] * (commit in wanted) + [code] * (application in wanted)


class Hl7Session:
    """One MLLP connection from one device: frames in, events out, ACKs held until resolved."""

    def __init__(
        self,
        *,
        max_message_bytes: int = 1 << 20,
        default_encoding: str = "utf-8",
        trust_msh18: bool = True,
        sending_application: str = "WARDLINK",
        sending_facility: str = "",
        control_ids: Callable[[], str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._receiver = MllpReceiver(max_message_bytes)
        self._default_encoding = default_encoding
        self._trust_msh18 = trust_msh18
        self._sender = (sending_application, sending_facility)
        self._control_ids = control_ids or map(str, itertools.count(1)).__next__
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._ids = itertools.count(1)
        self._events: list[Event] = []
        self._held: dict[int, Message] = {}
        self._answers: dict[int, bytes | None] = {}  # message order; None = not resolved yet

    @property
    def receiving(self) -> bool:
        """A message is partly received; the caller applies its read timeout, not the idle one."""
        return self._receiver.in_frame

    def receive_data(self, data: bytes) -> None:
        """Feed bytes as they arrived on the connection."""
        for item in self._receiver.receive_data(data):
            if isinstance(item, Frame):
                self._on_frame(item.payload)
            else:
                self._on_framing_error(item)

    def events(self) -> list[Event]:
        """Events since the last call, in stream order."""
        events, self._events = self._events, []
        return events

    def accept(self, message_id: int) -> None:
        """The message is durable: queue its positive ACK(s)."""
        self._resolve(message_id, "AA", None)

    def reject(self, message_id: int, code: RejectCode, reason: str, error_code: int = 207) -> None:
        """Refuse a received message (e.g. ``AR`` with 200 for a message type not handled)."""
        if code not in ("AE", "AR"):
            raise ValueError(f"reject code must be AE or AR, not {code!r}")
        self._resolve(message_id, code, AckError(error_code, reason))

    def data_to_send(self) -> bytes:
        """MLLP-framed ACKs that are due, oldest first; never one ahead of an unresolved one."""
        out = bytearray()
        for message_id, answer in list(self._answers.items()):
            if answer is None:
                break
            out += answer
            del self._answers[message_id]
        return bytes(out)

    def _on_frame(self, payload: bytes) -> None:
        try:
            message = parse_message(
                payload, default_encoding=self._default_encoding, trust_msh18=self._trust_msh18
            )
        except Hl7ParseError as exc:
            error = AckError(exc.error_code, exc.reason, exc.location)
            self._refuse(payload, exc.reason, exc.ack_code, error)
            return
        message_id = next(self._ids)
        self._held[message_id] = message
        self._answers[message_id] = None
        self._events.append(MessageReceived(message_id, message))

    def _on_framing_error(self, error: FramingError) -> None:
        error_code = _FRAMING_ERROR_CODES[error.kind]
        if error_code is None:
            self._events.append(MessageRejected(error.reason, "", error.data))
            return
        self._refuse(error.data, error.reason, "AR", AckError(error_code, error.reason))

    def _refuse(self, raw: bytes, reason: str, code: RejectCode, error: AckError) -> None:
        self._events.append(MessageRejected(reason, code, raw))
        # Negative ids keep refusals apart from caller-visible ids while sharing their order.
        self._answers[-next(self._ids)] = self._acks(salvage_header(raw), code, error)

    def _resolve(self, message_id: int, code: str, error: AckError | None) -> None:
        message = self._held.pop(message_id, None)
        if message is None:
            raise ValueError(f"message {message_id} is unknown or already answered")
        self._answers[message_id] = self._acks(message, code, error)

    def _acks(self, message: Message, code: str, error: AckError | None) -> bytes:
        sending_application, sending_facility = self._sender
        return b"".join(
            encode_frame(
                build_ack(
                    message,
                    ack_code,
                    error=error,
                    sending_application=sending_application,
                    sending_facility=sending_facility,
                    now=self._clock(),
                    control_id=self._control_ids(),
                )
            )
            for ack_code in _ack_codes(message, code)
        )
