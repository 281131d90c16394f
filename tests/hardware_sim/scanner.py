"""Barcode/QR scanner simulator: sends scans over TCP or a pty, with fault hooks.

It plays the instrument role of PROTOCOLS.md §10-11: each scan is sent with its suffix (CR LF by
default), optionally with an AIM identifier. Everything it generates is synthetic: specimen labels
(``SP2611220001``), CCCD QR codes of invented people with Vietnamese diacritics, GS1 drug packs.

Command line (for ``make demo``)::

    python -m tests.hardware_sim.scanner --connect 127.0.0.1:7001 --rate 2  # listen:// gateway
    python -m tests.hardware_sim.scanner --serve 7001 --rate 2              # tcp:// gateway
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from drivers import tcp
from drivers.base import ByteStream
from tests.hardware_sim.cli_name import prog

log = logging.getLogger("scanner-sim")

GS = b"\x1d"
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng")
MIDDLE_NAMES = {"Nam": ("Văn", "Đức", "Minh"), "Nữ": ("Thị", "Ngọc", "Thu")}
GIVEN_NAMES = ("An", "Bình", "Chi", "Dũng", "Hà", "Khánh", "Lộc", "Phương", "Quỳnh", "Tâm")
STREETS = ("Đường Thử Nghiệm", "Ngõ Mẫu", "Phố Giả Định")
CITIES = ("Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Cần Thơ")


class Writable(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Faults:
    """What the simulated scanner does wrong, for tests and demos.

    Attributes:
        split_writes: send each scan in pieces cut at random byte boundaries.
        overlong_every: every Nth scan is replaced by a line of ``overlong_length`` bytes.
        overlong_length: length of that line.
        garbage_every: every Nth scan is preceded by a line of bytes that are not UTF-8.
        disconnect_after: close the connection after this many scans.
    """

    split_writes: bool = False
    overlong_every: int = 0
    overlong_length: int = 10_000
    garbage_every: int = 0
    disconnect_after: int | None = None


def specimen_label(rng: random.Random, day: date | None = None) -> bytes:
    """A Code 128 LIS accession such as ``SP2611220001`` with its ``]C0`` identifier."""
    day = day or date(2026, 11, 22)
    return f"]C0SP{day:%y%m%d}{rng.randrange(1, 10_000):04d}".encode()


def cccd_qr(rng: random.Random) -> bytes:
    """A CCCD QR (7 fields) of an invented person; the name always carries diacritics."""
    sex = rng.choice(("Nam", "Nữ"))
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 80))
    century_sex = (born.year // 100 - 19) * 2 + (sex == "Nữ")
    national_id = f"0{rng.randrange(1, 97):02d}{century_sex}{born:%y}{rng.randrange(10**6):06d}"
    name = f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES[sex])} {rng.choice(GIVEN_NAMES)}"
    address = f"Số {rng.randrange(1, 200)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"
    issued = date(2021, 1, 1) + timedelta(days=rng.randrange(365 * 4))
    fields = (national_id, "", name, f"{born:%d%m%Y}", sex, address, f"{issued:%d%m%Y}")
    return "|".join(fields).encode("utf-8")


def gs1_pack(rng: random.Random) -> bytes:
    """A GS1 DataMatrix drug pack: GTIN (Vietnamese 893 prefix), expiry, lot, serial."""
    body = f"0893{rng.randrange(10**9):09d}"
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    gtin = body + str((10 - weighted % 10) % 10)
    expiry = f"{rng.randrange(26, 31)}{rng.randrange(1, 13):02d}00"
    lot = f"L{rng.randrange(10**5):05d}"
    return (
        f"]d201{gtin}17{expiry}10{lot}".encode() + GS + f"21SN{rng.randrange(10**8):08d}".encode()
    )


def generated_scans(rng: random.Random) -> Iterator[bytes]:
    """An endless mix weighted like a ward: mostly specimen labels, some IDs and drug packs."""
    makers = (specimen_label, specimen_label, specimen_label, cccd_qr, gs1_pack)
    while True:
        yield rng.choice(makers)(rng)


class ScannerSim:
    """Sends scans with a suffix, at a rate, applying :class:`Faults`."""

    def __init__(
        self,
        scans: Iterable[bytes],
        *,
        suffix: bytes = b"\r\n",
        rate: float | None = None,
        faults: Faults | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._scans = iter(scans)
        self._suffix = suffix
        self._interval = 1 / rate if rate else 0.0
        self._faults = faults or Faults()
        self._rng = rng or random.Random(0)
        self._numbers = itertools.count(1)

    def lines(self) -> Iterator[bytes]:
        """Wire bytes, one item per line, faults applied."""
        faults = self._faults
        for scan in self._scans:
            number = next(self._numbers)
            if faults.garbage_every and number % faults.garbage_every == 0:
                yield b"\xff\xfe" + self._rng.randbytes(8).translate(None, b"\r\n") + self._suffix
            if faults.overlong_every and number % faults.overlong_every == 0:
                yield b"9" * faults.overlong_length + self._suffix
            else:
                yield scan + self._suffix

    async def play(self, stream: Writable) -> int:
        """Send scans until they run out or the disconnect fault fires; return scans sent."""
        sent = 0
        for line in self.lines():
            await self._write(stream, line)
            sent += 1
            if sent == self._faults.disconnect_after:
                await stream.close()
                break
            if self._interval:
                await asyncio.sleep(self._interval)
        return sent

    async def _write(self, stream: Writable, line: bytes) -> None:
        if not self._faults.split_writes:
            await stream.write(line)
            return
        cuts = sorted(self._rng.sample(range(1, len(line)), min(3, len(line) - 1)))
        for start, end in itertools.pairwise([0, *cuts, len(line)]):
            await stream.write(line[start:end])


async def connect_and_play(sim: ScannerSim, host: str, port: int) -> int:
    """Connect to a ``listen://`` gateway and play; return scans sent."""
    stream: ByteStream = await tcp.connect(host, port)
    try:
        return await sim.play(stream)
    finally:
        await stream.close()


async def serve_and_play(sim: ScannerSim, host: str, port: int) -> None:
    """Serve a ``tcp://`` gateway: play to each connection in turn until cancelled."""
    async with tcp.listen(host, port) as listener:
        log.info("scanner simulator serving on %s:%d", host, listener.port)
        async for stream in listener:
            try:
                await sim.play(stream)
            finally:
                await stream.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.scanner"), description=__doc__.splitlines()[0]
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--connect", metavar="HOST:PORT", help="connect to a listen:// gateway")
    target.add_argument("--serve", metavar="PORT", type=int, help="serve a tcp:// gateway")
    parser.add_argument("--bind", default="127.0.0.1", help="address for --serve")
    parser.add_argument("--rate", type=float, default=1.0, help="scans per second")
    parser.add_argument("--count", type=int, default=0, help="stop after N scans (0: never)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--suffix", choices=("cr", "lf", "crlf"), default="crlf")
    parser.add_argument("--split-writes", action="store_true")
    parser.add_argument("--overlong-every", type=int, default=0)
    parser.add_argument("--garbage-every", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    rng = random.Random(args.seed)
    scans: Iterable[bytes] = generated_scans(rng)
    if args.count:
        scans = itertools.islice(scans, args.count)
    sim = ScannerSim(
        scans,
        suffix={"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}[args.suffix],
        rate=args.rate,
        faults=Faults(
            split_writes=args.split_writes,
            overlong_every=args.overlong_every,
            garbage_every=args.garbage_every,
        ),
        rng=rng,
    )
    if args.connect:
        host, _, port = args.connect.rpartition(":")
        sent = asyncio.run(connect_and_play(sim, host or "127.0.0.1", int(port)))
        log.info("sent %d scans", sent)
    else:
        asyncio.run(serve_and_play(sim, args.bind, args.serve))


if __name__ == "__main__":
    main()
