"""HL7 v2 over MLLP as a device session: one connection of an ``hl7-analyzer`` or ``hl7-monitor``.

Wraps the clockless :class:`~adapters.hl7.session.Hl7Session` with what a connection needs on
top: the per-message deadline, the message types the device's kind takes, the kind's mapper
(lab results, vital signs, alarms) and the store. Every complete message becomes a
:class:`~adapters.session.Store` holding its ACK: AA/CA leaves only on ``stored(ticket, None)``
(promise 1); a refused commit is answered AR (the sender may retry later). One we do not take
(type, size, charset, syntax, content) is answered AE/AR at once, counted and its bytes kept.
A control id seen again with the same bytes (a retransmission after a lost ACK) is acknowledged
again but stored once: the message key is ``control_id/sha256(raw)``.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import tzinfo

from adapters.canonical.events import CanonicalEvent
from adapters.hl7.message import Message
from adapters.hl7.options import Hl7LinkOptions
from adapters.hl7.session import Hl7Session, MessageReceived
from adapters.hl7.timestamps import parse_ts
from adapters.kind import DeviceSetup, PreparedDevice, TlsFiles
from adapters.session import EndConnection, Rejected, SessionBase, Store
from adapters.zones import device_zone

log = logging.getLogger(__name__)

Mapper = Callable[[Message, float], Sequence[CanonicalEvent]]
"""A kind's reading of one accepted message at ``now`` (monotonic): the events to commit."""
MapperFor = Callable[[str], Mapper]
"""The mapper of one connection, given its peer: per-connection state (what was logged)."""


def new_ack_control_id() -> str:
    """MSH-10 of our ACKs: unique across connections and restarts, within HL7's 20 characters."""
    return uuid.uuid4().hex[:20]


class Hl7DeviceSession(SessionBase):
    """One MLLP connection: frames in, stores out, ACKs held until the commit is known."""

    def __init__(
        self,
        device_id: str,
        peer: str,
        options: Hl7LinkOptions,
        encoding: str,
        mapper: Mapper,
        *,
        control_ids: Callable[[], str] = new_ack_control_id,
    ) -> None:
        super().__init__()
        self._device_id = device_id
        self._peer = peer
        self._options = options
        self._mapper = mapper
        self._zone: tzinfo = device_zone(options.timezone)
        self._hl7 = Hl7Session(
            max_message_bytes=options.max_message_kb * 1024,
            default_encoding=encoding,
            trust_msh18=options.trust_msh18,
            sending_application=options.sending_application,
            sending_facility=options.sending_facility,
            control_ids=control_ids,
        )
        self._deadline: float | None = None  # a started message must end by then

    def receive_data(self, data: bytes, now: float) -> None:
        self._hl7.receive_data(data)
        ended_one = False
        for event in self._hl7.events():
            ended_one = True
            if isinstance(event, MessageReceived):
                self._take(event, now)
            else:
                self._emit(Rejected(event.reason, event.raw))
        if not self._hl7.receiving:
            self._deadline = None
        elif self._deadline is None or ended_one:
            # A message ended in this chunk: the one now started gets its own time.
            self._deadline = now + self._options.read_timeout_s

    def next_deadline(self) -> float | None:
        return self._deadline

    def handle_timeout(self, now: float) -> None:
        """A message not complete in time is dropped unanswered: MLLP senders resend it."""
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        log.warning(
            "device %s: message from %s not complete within %g s; dropped, connection closed",
            self._device_id,
            self._peer,
            self._options.read_timeout_s,
        )
        self._emit(EndConnection("message_deadline"))

    def data_to_send(self) -> list[bytes]:
        out = self._hl7.data_to_send()
        return [out] if out else []

    def stored(self, ticket: object, refused: str | None) -> None:
        if not isinstance(ticket, int):
            raise TypeError(f"not a ticket of this session: {ticket!r}")
        if refused is None:
            self._hl7.accept(ticket)
        else:
            self._hl7.reject(ticket, "AR", f"not stored: {refused}", 207)

    def _take(self, event: MessageReceived, now: float) -> None:
        message = event.message
        code, trigger, _ = message.message_type
        if f"{code}^{trigger}" not in self._options.accept:
            reason = f"unsupported message type {code}^{trigger}"
            self._hl7.reject(event.message_id, "AR", reason, 200)
            self._emit(Rejected(reason, message.raw))
            return
        control_id = message.control_id
        try:
            events = self._mapper(message, now)
        except Exception:
            log.exception("device %s: message %s could not be mapped", self._device_id, control_id)
            self._hl7.reject(event.message_id, "AE", "message content could not be read", 207)
            self._emit(Rejected("unmappable content", message.raw))
            return
        # The same control id with the same bytes is a retransmission (the ACK was lost, perhaps
        # to a gateway restart): the store keeps it once. A reused id (a counter reset after a
        # restart) with other content is a new message.
        self._emit(
            Store(
                events,
                raw=message.raw,
                message_key=f"{control_id}/{hashlib.sha256(message.raw).hexdigest()}",
                device_time=parse_ts(message.msh.text(7), self._zone),
                ticket=event.message_id,
            )
        )


def prepare_hl7_link(
    device: DeviceSetup, options: Hl7LinkOptions, mapper_for: MapperFor
) -> PreparedDevice:
    """What both HL7 kinds share at start: the encoding checked, TLS files, one session a peer."""
    codecs.lookup(device.encoding)  # an unknown encoding is a config error, nothing to retry
    tls = (
        TlsFiles(options.tls_cert_file, options.tls_key_file, options.tls_peer_ca_file)
        if options.tls
        else None
    )
    return PreparedDevice(
        new_session=lambda peer: Hl7DeviceSession(
            device.id, peer, options, device.encoding, mapper_for(peer)
        ),
        idle_timeout_s=options.idle_timeout_s,
        max_connections=options.max_connections,
        tls=tls,
    )
