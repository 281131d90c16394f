"""Line faults for the ASTM analyzer simulator, applied to the bytes its link layer produced.

:class:`~adapters.astm.link.AstmLink` stays correct; :class:`FaultInjector` sits between it and
the wire, so every fault the gateway sees is one a real instrument or cable produces, and the
simulator's own retries (resend after NAK or timeout) are the link layer's, not a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.astm.frames import ACK, ENQ, EOT, STX

NOISE = b"\x00\xffNOISE"
"""Line noise before a frame: not a control byte, so the receiver reports it and answers nothing."""


@dataclass(frozen=True)
class Faults:
    """What the simulated analyzer does wrong.

    Frame ordinals are 1-based and count every frame the simulator transmits for the first
    time, across messages; a resend of the same frame in the same session is not counted, so a
    fault hits once and the link layer's retry heals it.

    Attributes:
        bad_checksum: frames sent once with a wrong checksum (the host NAKs; we resend).
        garbage_before: frames preceded by :data:`NOISE`.
        cut: frames whose first transmission stops half-way (the host must stay silent; our
            sender times out and resends, and the resend's STX cuts the partial frame).
        ignore_ack: frames whose ACK we pretend not to see (a lost ACK): we time out and resend,
            and the host must ACK the repeat and store the message once.
        frame_delay_s: pause before each frame (a slow analyzer).
        contend: hold each :meth:`~AnalyzerSimulator.send` message until the host sends ENQ, and
            answer that ENQ with ours (line contention, which the instrument wins).
    """

    bad_checksum: frozenset[int] = frozenset()
    garbage_before: frozenset[int] = frozenset()
    cut: frozenset[int] = frozenset()
    ignore_ack: frozenset[int] = frozenset()
    frame_delay_s: float = 0.0
    contend: bool = False


NO_FAULTS = Faults()


class FaultInjector:
    """Rewrites outgoing link bytes into writes and pauses; drops ACKs pretended lost."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.frames_sent = 0  # first transmissions so far: the ordinal of the last one
        self._last_frame: bytes | None = None  # in this session, as the link produced it
        self._acks_to_drop = 0

    def outgoing(self, data: bytes) -> list[bytes | float]:
        """Bytes to write, in order, with a float meaning "pause this many seconds first"."""
        chunks: list[bytes | float] = []
        for piece in _split_frames(data):
            if piece[0] != STX:
                if ENQ in piece or EOT in piece:  # a session starts or ends: FNs restart
                    self._last_frame = None
                chunks.append(piece)
            else:
                chunks += self._frame(piece)
        return chunks

    def incoming(self, data: bytes) -> bytes:
        """Input with the ACKs we pretend were lost taken out."""
        while self._acks_to_drop and ACK in data:
            data = data.replace(bytes((ACK,)), b"", 1)
            self._acks_to_drop -= 1
        return data

    def _frame(self, frame: bytes) -> list[bytes | float]:
        faults = self.faults
        chunks: list[bytes | float] = [faults.frame_delay_s] if faults.frame_delay_s else []
        if frame == self._last_frame:  # the link layer's resend: always sent clean
            return [*chunks, frame]
        self._last_frame = frame
        self.frames_sent += 1
        n = self.frames_sent
        if n in faults.garbage_before:
            chunks.append(NOISE)
        if n in faults.ignore_ack:
            self._acks_to_drop += 1
        if n in faults.cut:
            return [*chunks, frame[: len(frame) // 2]]
        if n in faults.bad_checksum:
            # STX FN text ETX C1 C2 CR LF: bump the checksum so it cannot match.
            wrong = f"{(int(frame[-4:-2], 16) + 1) & 0xFF:02X}".encode("ascii")
            return [*chunks, frame[:-4] + wrong + frame[-2:]]
        return [*chunks, frame]


def _split_frames(data: bytes) -> list[bytes]:
    """Split link output into runs of control bytes and whole frames (STX … CR LF)."""
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        if data[start] == STX:
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
        else:
            end = data.find(bytes((STX,)), start)
            end = len(data) if end < 0 else end
        pieces.append(data[start:end])
        start = end
    return pieces
