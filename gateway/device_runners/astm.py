"""Runner for ASTM lab analyzers: E1381 frames or bare records over serial or TCP.

The one place ASTM bytes meet the sans-IO layers. Each connection picks its wire from the
first ENQ, STX or H record when ``framing = "auto"`` (PROTOCOLS §1) and is pumped by one loop
that owns the wire, so a host-query answer (computed in a task of its own while the analyzer
finishes its session) joins through the same queue as the bytes read. A message's last frame
is answered only after
:meth:`~gateway.device_runners.astm_messages.AnalyzerMessages.take` has committed its results:
ACK when stored, NAK when not, so the analyzer sends it again (promise 1). Frame errors are
NAKed by the link layer, counted and kept; they never end the session or touch other devices.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass

from adapters.astm.bare import BareMessage, BareNoise, BareRecordReader, detect_framing
from adapters.astm.dialect import load_dialect
from adapters.astm.dialect_link import HOST, LinkConfig
from adapters.astm.link import AstmLink
from adapters.astm.link_events import (
    FrameRejected,
    LinkTimedOut,
    MessageReceived,
    SendFailed,
)
from adapters.codemap import CodeMap, load_code_map
from adapters.lis_analyzers.astm_kind import AstmAnalyzerOptions
from drivers.base import ByteStream
from gateway.device_runners.astm_dialects import AUTO
from gateway.device_runners.astm_messages import AnalyzerMessages, PendingQuery
from gateway.device_runners.connections import keep_connected
from gateway.device_runners.device import DialectDevice
from gateway.intake import Intake

log = logging.getLogger(__name__)

_UNDECIDED_LIMIT = 4096
"""Bytes of noise kept while ``framing = "auto"`` waits for the first ENQ, STX or H record."""


AstmDevice = DialectDevice[AstmAnalyzerOptions]


@dataclass(frozen=True, slots=True)
class _Reply:
    records: list[bytes]


_Input = bytes | _Reply | None
"""What the connection loop waits for: bytes read, an answer ready, or ``None`` (EOF)."""


async def run_astm_analyzer(device: AstmDevice, intake: Intake) -> None:
    """Serve an analyzer's connection(s) until cancelled: results → ``lab_result``."""
    options = device.options
    assert isinstance(options, AstmAnalyzerOptions)
    codecs.lookup(device.encoding)
    link_config = link_config_for(device.dialect, options)
    code_map = load_code_map(options.code_map) if options.code_map else CodeMap.empty()
    messages = AnalyzerMessages(
        device.id,
        dialect=device.dialect,
        encoding=device.encoding,
        code_map=code_map,
        options=options,
        intake=intake,
    )

    async def serve(stream: ByteStream) -> None:
        await _Connection(
            device.id,
            options=options,
            link_config=link_config,
            messages=messages,
            intake=intake,
            stream=stream,
        ).serve()

    await keep_connected(
        device.id, device.connection, intake, serve, max_connections=options.max_connections
    )


def link_config_for(dialect: str, options: AstmAnalyzerOptions) -> LinkConfig:
    """The host's E1381 settings: LIS1-A timers from the options, checks from the dialect."""
    config = dataclasses.replace(
        HOST,
        sender_timeout=options.reply_timeout_s,
        receiver_timeout=options.frame_timeout_s,
        message_timeout=options.message_timeout_s,
        max_message_frames=options.max_message_frames,
        max_message_bytes=options.max_message_kb * 1024,
    )
    if dialect == AUTO:
        return config  # the dialect is known only per message; be liberal on input
    spec = load_dialect(dialect)
    return dataclasses.replace(
        config, checksum_required=spec.checksum_required, lf_required=spec.lf_required
    )


class _Connection:
    def __init__(
        self,
        device_id: str,
        *,
        options: AstmAnalyzerOptions,
        link_config: LinkConfig,
        messages: AnalyzerMessages,
        intake: Intake,
        stream: ByteStream,
    ) -> None:
        self._device_id = device_id
        self._options = options
        self._messages = messages
        self._intake = intake
        self._stream = stream
        self._dialects = messages.dialects_for(stream.peer)
        self._inputs: asyncio.Queue[_Input] = asyncio.Queue()
        self._answers: set[asyncio.Task[None]] = set()
        framing = options.framing
        self._link = AstmLink(link_config) if framing != "none" else None
        self._bare = BareRecordReader(options.max_message_kb * 1024) if framing != "e1381" else None
        self._undecided = b""  # framing = "auto": noise before the first ENQ, STX or H record

    async def serve(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            while (item := await self._next()) is not None:
                await self._handle(item)
                if out := self._link_out():
                    await self._stream.write(out)
            if self._bare is not None and self._link is None:
                await self._bare_items(self._bare.close())
        finally:
            for task in (reader, *self._answers):
                task.cancel()
            # Close first: a shutdown cancellation landing in the gather below must not leave
            # the connection open.
            await self._stream.close()
            await asyncio.gather(reader, *self._answers, return_exceptions=True)

    async def _read(self) -> None:
        with contextlib.suppress(OSError):
            while data := await self._stream.read():
                self._inputs.put_nowait(data)
        self._inputs.put_nowait(None)

    async def _next(self) -> _Input | bytes:
        """The next input; ``b""`` when a link timer is due."""
        deadline = self._link.next_deadline() if self._link is not None else None
        timeout = self._options.idle_timeout_s
        if deadline is not None:
            timeout = max(0.0, deadline - time.monotonic())
        try:
            async with asyncio.timeout(timeout):
                return await self._inputs.get()
        except TimeoutError:
            if deadline is None:
                log.info("device %s: closing idle connection %s", self._device_id, self._peer)
                self._intake.count_connection_dropped(self._device_id, "idle_timeout")
                return None
            return b""

    @property
    def _peer(self) -> str:
        return self._stream.peer

    async def _handle(self, item: bytes | _Reply) -> None:
        now = time.monotonic()
        if isinstance(item, _Reply):
            await self._send_reply(item.records, now)
            return
        if item and self._link is not None and self._bare is not None:
            item = self._choose_wire(item)
            if not item:
                return
        if self._link is None:
            assert self._bare is not None
            await self._bare_items(self._bare.receive_data(item))
            return
        if item:
            self._link.receive_data(item, now)
        self._link.handle_timeout(now)
        await self._link_events()

    def _choose_wire(self, data: bytes) -> bytes:
        """``framing = "auto"``: the wire this connection speaks, once its bytes show it.

        Returns:
            The bytes held so far, for the chosen wire; ``b""`` while still undecided.
        """
        self._undecided += data
        framed = detect_framing(self._undecided)
        if framed is None:
            if len(self._undecided) > _UNDECIDED_LIMIT:
                reason = "neither E1381 frames nor ASTM records"
                self._intake.count_rejected(self._device_id, reason, self._undecided)
                self._undecided = b""
            return b""
        log.info(
            "device %s: %s on %s",
            self._device_id,
            "E1381 frames" if framed else "bare records",
            self._peer,
        )
        if framed:
            self._bare = None
        else:
            self._link = None
        held, self._undecided = self._undecided, b""
        return held

    async def _link_events(self) -> None:
        assert self._link is not None
        for event in self._link.events():
            if isinstance(event, MessageReceived):
                taken = await self._messages.take(event.records, event.raw, self._dialects)
                # Always resolve: the link answers ENQ with NAK (busy) until every message is.
                (self._link.accept if taken.stored else self._link.reject)(event.message_id)
                if not event.held and not taken.stored:
                    # EOT came without an L record: its frames were ACKed one by one already.
                    self._intake.count_rejected(self._device_id, "not stored after EOT", event.raw)
                for pending in taken.queries:
                    self._answer_later(pending)
            elif isinstance(event, FrameRejected):
                self._intake.count_rejected(self._device_id, event.reason, event.raw)
            elif isinstance(event, LinkTimedOut):
                log.info("device %s: no %s in time", self._device_id, event.waiting_for)
            elif isinstance(event, SendFailed):
                log.warning("device %s: orders not delivered: %s", self._device_id, event.reason)

    async def _bare_items(self, items: list[BareMessage | BareNoise]) -> None:
        for item in items:
            if isinstance(item, BareMessage):
                await self._take_bare(item)
            else:
                self._intake.count_rejected(self._device_id, item.reason, item.raw)

    async def _take_bare(self, message: BareMessage) -> None:
        taken = await self._messages.take(message.records, message.raw, self._dialects)
        if not taken.stored:
            # No link layer: the analyzer cannot be asked to resend, so keep the bytes.
            self._intake.count_rejected(self._device_id, "not stored (bare records)", message.raw)
        for pending in taken.queries:
            self._answer_later(pending)

    def _answer_later(self, pending: PendingQuery) -> None:
        async def answer() -> None:
            self._inputs.put_nowait(_Reply(await self._messages.answer(pending)))

        task = asyncio.create_task(answer())
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _send_reply(self, records: list[bytes], now: float) -> None:
        if self._link is not None:
            try:
                self._link.send_message(records, now)
            except ValueError as exc:  # a control byte in the centre's answer
                log.warning("device %s: orders not sent: %s", self._device_id, exc)
            await self._link_events()
        else:
            await self._stream.write(b"".join(record + b"\r" for record in records))

    def _link_out(self) -> bytes:
        return self._link.data_to_send() if self._link is not None else b""
