"""CLSI LIS1-A §8 link layer for both roles, sans-IO, with the durable-ACK handshake.

One :class:`AstmLink` per connection plays receiver (an instrument sends to us) and sender
(:meth:`AstmLink.send_message`: host-query answers, the instrument simulator). Bytes go in with
:meth:`~AstmLink.receive_data`, time with :meth:`~AstmLink.handle_timeout` at
:meth:`~AstmLink.next_deadline`; :meth:`~AstmLink.events` and :meth:`~AstmLink.data_to_send`
come out. This module decodes the line and routes each input; the roles' rules live in
:mod:`adapters.astm.link_receiver` and :mod:`adapters.astm.link_sender`, which share one
:class:`~adapters.astm.link_line.LinkLine`. A (state, input) pair in neither role's table is
line noise and ignored; the roles' states do not overlap, so at most one table answers.
"""

from __future__ import annotations

from adapters.astm.dialect_link import HOST, LinkConfig
from adapters.astm.frames import Control, Frame, FrameDecoder
from adapters.astm.link_events import Event, FrameRejected
from adapters.astm.link_line import LinkInput, LinkLine, State
from adapters.astm.link_receiver import RECEIVER_TRANSITIONS, Receiver
from adapters.astm.link_sender import SENDER_TRANSITIONS, Sender


class AstmLink:
    """One ASTM connection: bytes and time in, events and bytes out, final ACKs held."""

    def __init__(self, config: LinkConfig = HOST) -> None:
        self._decoder = FrameDecoder(
            lf_required=config.lf_required,
            checksum_required=config.checksum_required,
            max_frame_bytes=config.max_frame_bytes,
        )
        self._line = LinkLine(config)
        self._receiver = Receiver(self._line)
        self._sender = Sender(self._line)

    @property
    def state(self) -> State:
        return self._line.state

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes as they arrived on the line."""
        for item in self._decoder.receive_data(data):
            if isinstance(item, Frame):
                self._dispatch(LinkInput.FRAME, item, now)
            elif isinstance(item, Control):
                self._dispatch(LinkInput(item.code), None, now)
            else:
                self._line.events.append(FrameRejected(item.reason, item.data))
        self._sender.maybe_start(now)

    def handle_timeout(self, now: float) -> None:
        """Act on every deadline that has passed; harmless when called early."""
        line = self._line
        if line.deadline is not None and now >= line.deadline:
            line.deadline = None
            self._dispatch(LinkInput.TIMEOUT, None, now)
        self._sender.maybe_start(now)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` is due next, or ``None`` when nothing is pending."""
        pending = [t for t in (self._line.deadline, self._sender.next_retry()) if t is not None]
        return min(pending, default=None)

    def send_message(self, records: list[bytes], now: float) -> int:
        """Queue one H…L message (records without CR) for its own ENQ…EOT session.

        Returns:
            The ``send_id`` that :class:`SendCompleted` or :class:`SendFailed` will carry.

        Raises:
            ValueError: a record contains a control byte.
        """
        return self._sender.send_message(records, now)

    def accept(self, message_id: int) -> None:
        """The message is durable: answer its final frame with ACK."""
        self._receiver.accept(message_id)

    def reject(self, message_id: int) -> None:
        """The message could not be stored: NAK its final frame so the instrument resends it."""
        self._receiver.reject(message_id)

    def interrupt(self) -> None:
        """Answer the next frame with EOT instead of ACK: ask the sender to stop (§8.3.5)."""
        self._receiver.interrupt()

    def events(self) -> list[Event]:
        """Events since the last call, in order."""
        events, self._line.events = self._line.events, []
        return events

    def data_to_send(self) -> bytes:
        """Bytes owed to the peer since the last call."""
        out = bytes(self._line.out)
        self._line.out.clear()
        return out

    def _dispatch(self, kind: LinkInput, frame: Frame | None, now: float) -> None:
        key = (self._line.state, kind)
        on_receive = RECEIVER_TRANSITIONS.get(key)
        if on_receive is not None:
            on_receive(self._receiver, frame, now)
            return
        on_send = SENDER_TRANSITIONS.get(key)
        if on_send is not None:
            on_send(self._sender, frame, now)
