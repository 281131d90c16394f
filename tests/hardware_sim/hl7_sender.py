"""An HL7 analyzer / LIS sender: MLLP client replaying messages, with fault injection.

It speaks through the same MLLP codec the gateway uses (``adapters.mllp``), in the sender role,
and reads the acknowledgements back. Synthetic messages carry invented patients only.

Command line (for an engineer testing a ward node with no analyzer)::

    python -m tests.hardware_sim.hl7_sender --connect 127.0.0.1:2575 --count 10 --rate 1
    python -m tests.hardware_sim.hl7_sender --connect 127.0.0.1:2575 --file corpus.hl7
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import ssl
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters.mllp import Frame, MllpReceiver, encode_frame
from drivers import tcp
from drivers.base import ByteStream
from tests.hardware_sim.cli_name import prog

log = logging.getLogger("hl7_sender")

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["Thị Ánh", "Văn Hùng", "Thị Thu Hằng", "Đức Minh", "Ngọc Lan", "Quốc Bảo"]
# (LOINC, name, unit, low, high): a CBC as a Mindray BC-series analyzer reports it.
CBC = [
    ("6690-2", "WBC", "10*9/L", 4.0, 10.0),
    ("789-8", "RBC", "10*12/L", 3.8, 5.8),
    ("718-7", "HGB", "g/L", 120.0, 170.0),
    ("4544-3", "HCT", "%", 36.0, 50.0),
    ("777-3", "PLT", "10*9/L", 150.0, 400.0),
]


# Windows-1258 has the vowels with circumflex, breve and horn precomposed, but writes the five
# tone marks as combining characters: the form a legacy Vietnamese analyzer sends.
_CP1258_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    composed: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char) and char not in _CP1258_TONES and composed:
            composed[-1] = unicodedata.normalize("NFC", composed[-1] + char)
        else:
            composed.append(char)
    return "".join(composed).encode("cp1258")


def encode(text: str, encoding: str) -> bytes:
    return encode_cp1258(text) if encoding == "cp1258" else text.encode(encoding)


def synthetic_oru(
    rng: random.Random,
    control_id: str,
    *,
    charset: str | None = "UNICODE UTF-8",
    encoding: str = "utf-8",
    sample_id: str | None = None,
) -> bytes:
    """A CBC ORU^R01 for an invented patient; ``charset`` is MSH-18 (None leaves it empty)."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    sample = sample_id or f"SP{rng.randrange(10**9):09d}"
    name = f"{rng.choice(FAMILY)}^{rng.choice(GIVEN)}"
    segments = [
        f"MSH|^~\\&|BC-5380|Mindray|||{now}||ORU^R01|{control_id}|P|2.3.1||||||{charset or ''}",
        f"PID|1||PT{rng.randrange(10**6):06d}^^^^MR||{name}||19800101|F",
        f"OBR|1||{sample}|00001^Automated Count^99MRC|||{now}",
    ]
    for n, (loinc, test, unit, low, high) in enumerate(CBC, start=1):
        value = round(rng.uniform(low * 0.8, high * 1.2), 1)
        flag = "H" if value > high else "L" if value < low else "N"
        segments.append(f"OBX|{n}|NM|{loinc}^{test}^LN||{value}|{unit}|{low}-{high}|{flag}|||F")
    return encode("\r".join(segments) + "\r", encoding)


@dataclass(frozen=True)
class Ack:
    code: str
    control_id: str
    text: str
    raw: bytes


def parse_ack(payload: bytes) -> Ack:
    """MSA-1/2/3 of an acknowledgement (the sender only needs these)."""
    text = payload.decode("utf-8", errors="replace")
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            fields = [*segment.split(segment[3]), "", "", ""]
            return Ack(fields[1], fields[2], fields[3], payload)
    return Ack("", "", "no MSA segment", payload)


class Hl7Sender:
    """One MLLP connection in the sender (analyzer) role."""

    def __init__(self, stream: ByteStream) -> None:
        self.stream = stream
        self._receiver = MllpReceiver()
        self._acks: list[Ack] = []

    @classmethod
    async def connect(cls, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> Hl7Sender:
        return cls(await tcp.connect(host, port, tls=tls))

    async def send(self, message: bytes, *, timeout_s: float = 10.0) -> Ack:
        """Frame, send, and wait for the acknowledgement."""
        await self.stream.write(encode_frame(message))
        return await self.next_ack(timeout_s=timeout_s)

    async def send_raw(self, data: bytes) -> None:
        """Bytes as given: broken framing, garbage, a frame cut in two."""
        await self.stream.write(data)

    async def next_ack(self, *, timeout_s: float = 10.0) -> Ack:
        async with asyncio.timeout(timeout_s):
            while not self._acks:
                data = await self.stream.read()
                if not data:
                    msg = "the gateway closed the connection"
                    raise ConnectionError(msg)
                for item in self._receiver.receive_data(data):
                    if isinstance(item, Frame):
                        self._acks.append(parse_ack(item.payload))
        return self._acks.pop(0)

    async def close(self) -> None:
        await self.stream.close()


def messages_in_file(path: Path) -> list[bytes]:
    """HL7 messages in a file: MLLP frames when present, else split before each MSH."""
    data = path.read_bytes()
    if b"\x0b" in data:
        return [f.payload for f in MllpReceiver().receive_data(data) if isinstance(f, Frame)]
    text = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    parts = [b"MSH" + part for part in text.split(b"MSH")[1:]]
    return [part if part.endswith(b"\r") else part + b"\r" for part in parts]


async def _main(args: argparse.Namespace) -> None:
    host, _, port = args.connect.rpartition(":")
    sender = await Hl7Sender.connect(host, int(port))
    rng = random.Random(args.seed)
    if args.file:
        messages = messages_in_file(Path(args.file))
    else:
        messages = [synthetic_oru(rng, f"SIM{n:06d}") for n in range(args.count)]
    try:
        for message in messages:
            ack = await sender.send(message)
            log.info("sent %s: %s %s", ack.control_id, ack.code, ack.text)
            if args.rate:
                await asyncio.sleep(1 / args.rate)
    finally:
        await sender.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.hl7_sender"), description=__doc__.splitlines()[0]
    )
    parser.add_argument("--connect", required=True, metavar="HOST:PORT")
    parser.add_argument("--file", help="HL7 file to replay (CR-separated or MLLP-framed)")
    parser.add_argument("--count", type=int, default=10, help="synthetic messages to send")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second (0: ASAP)")
    parser.add_argument("--seed", type=int, default=None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
