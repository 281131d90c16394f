"""The forms of each supported connection URL, parsed into typed, frozen specs.

``drivers/urls.py`` picks the form by scheme; this module knows the forms themselves:

- ``serial:///dev/serial/by-id/usb-FTDI_XN550-if00-port0?baudrate=9600&parity=E&bytesize=7``
- ``serial://socket://10.0.4.7:4001`` or ``serial://rfc2217://...`` (pyserial URL handlers; their
  own query options pass through, line settings are taken out)
- ``tcp://host:port`` (we connect) and ``listen://host:port`` (devices connect to us; port 0
  asks the system for a free port, which only tests want)
- ``udp://host:port`` (datagrams to a device's port, e.g. IntelliVue Data Export on 24105)

Every error is an :class:`~drivers.base.InvalidUrlError` (a ``ValueError``) whose message says
what is allowed; it does not repeat the URL, which the caller shows beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from drivers.base import InvalidUrlError

Parity = Literal["N", "E", "O", "M", "S"]
ByteSize = Literal[5, 6, 7, 8]

# pyserial's Serial.BAUDRATES (Linux termios' B* rates, which every USB-serial driver maps) plus
# Windows' CBR_* rates (14400, 56000, 128000, 256000), which device setup menus offer and
# pyserial opens on Linux as a custom rate. Any other rate is almost always a typo (96000,
# 11520) that would open fine and then read garbage.
STANDARD_BAUDRATES: tuple[int, ...] = (
    *(50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 14400, 19200, 38400),
    *(56000, 57600, 115200, 128000, 230400, 256000, 460800, 500000, 576000, 921600, 1000000),
    *(1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000),
)

# 9600 8N1 is what most ward devices ship with.
_DEFAULT_LINE: Mapping[str, str] = {
    "baudrate": "9600",
    "parity": "N",
    "bytesize": "8",
    "stopbits": "1",
}
_PARITIES: tuple[Parity, ...] = ("N", "E", "O", "M", "S")
_BYTESIZES: tuple[ByteSize, ...] = (5, 6, 7, 8)
_STOPBITS = {"1": 1.0, "1.5": 1.5, "2": 2.0}
_BAUDRATES_BY_TEXT = {str(rate): rate for rate in STANDARD_BAUDRATES}
_MAX_SHOWN = 24


@dataclass(frozen=True)
class Claim:
    """A local port a running device holds, as the sharing rules and config check see it.

    Attributes:
        noun: What is held, in the rule's words: "one serial port serves one device".
        key: Tells two claims on the same port apart from claims on different ones.
        clash: How a second device's claim reads, followed by the first device's name.
        unit: The device's address on a shared bus; None where the port has no addresses.
    """

    noun: str
    key: str
    clash: str
    unit: int | None = None


@dataclass(frozen=True)
class SerialConnection:
    """A serial line; ``port`` is a device path or a pyserial URL (``socket://``, ``rfc2217://``)."""

    scheme: ClassVar[str] = "serial"
    port: str
    baudrate: int
    parity: Parity
    bytesize: ByteSize
    stopbits: float

    @property
    def claim(self) -> Claim:
        # by-id and by-path names are symlinks: two spellings of one adapter are one port.
        key = os.path.realpath(self.port) if self.port.startswith("/") else self.port
        return Claim("serial port", key, "opens the serial port of")


@dataclass(frozen=True)
class TcpConnection:
    """An outgoing TCP connection to a device or serial server; holds no local port."""

    scheme: ClassVar[str] = "tcp"
    host: str
    port: int

    @property
    def claim(self) -> None:
        return None


@dataclass(frozen=True)
class ListenConnection:
    """A TCP port the gateway listens on; the device connects to us."""

    scheme: ClassVar[str] = "listen"
    host: str
    port: int

    @property
    def claim(self) -> Claim:
        # Keyed by port alone: any two hosts on one port may overlap (wildcards, localhost).
        return Claim("listen port", str(self.port), f"listens on port {self.port} like")


@dataclass(frozen=True)
class UdpConnection:
    """Datagrams to a device's UDP port (we send first; the device answers to our port)."""

    scheme: ClassVar[str] = "udp"
    host: str
    port: int

    @property
    def claim(self) -> None:
        return None


ConnectionSpec = SerialConnection | TcpConnection | ListenConnection | UdpConnection


def parse_serial(url: str) -> SerialConnection:
    target, _, query = url.partition("://")[2].partition("?")
    line: dict[str, str] = {}
    passthrough: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in _DEFAULT_LINE:
            line[key] = value
        else:
            passthrough.append((key, value))
    if "://" in target:
        # A pyserial URL: options it understands itself stay with it.
        if passthrough:
            target = f"{target}?{urlencode(passthrough)}"
    else:
        if passthrough:
            names = ", ".join(key for key, _ in passthrough)
            raise InvalidUrlError(
                f"has unknown serial setting {names}; allowed: {', '.join(_DEFAULT_LINE)}"
            )
        target = unquote(target)
        if not target.isprintable():
            # A %0A in the path would forge lines wherever the port is logged.
            raise InvalidUrlError(
                "has a control character in the device path; allowed: printable characters"
            )
        if not target.startswith("/"):
            raise InvalidUrlError(
                "needs an absolute device path, e.g. serial:///dev/ttyUSB0 (three slashes), "
                "or a pyserial URL such as serial://socket://host:port"
            )
    settings = {**_DEFAULT_LINE, **line}
    return SerialConnection(
        port=target,
        baudrate=_parse_baudrate(settings["baudrate"]),
        parity=_parse_parity(settings["parity"]),
        bytesize=_parse_bytesize(settings["bytesize"]),
        stopbits=_parse_stopbits(settings["stopbits"]),
    )


def _parse_baudrate(text: str) -> int:
    # Looked up as text: int() of a hostile 5000-digit value raises its own ValueError.
    baudrate = _BAUDRATES_BY_TEXT.get(text)
    if baudrate is None:
        rates = ", ".join(_BAUDRATES_BY_TEXT)
        raise InvalidUrlError(
            f"has baudrate={_shown(text)}; allowed: an integer from {STANDARD_BAUDRATES[0]} to "
            f"{STANDARD_BAUDRATES[-1]} that is a standard rate: {rates}"
        )
    return baudrate


def _parse_parity(text: str) -> Parity:
    for parity in _PARITIES:
        if text.upper() == parity:
            return parity
    raise InvalidUrlError(f"has parity={_shown(text)}; allowed: {', '.join(_PARITIES)}")


def _parse_bytesize(text: str) -> ByteSize:
    for bytesize in _BYTESIZES:
        if text == str(bytesize):
            return bytesize
    raise InvalidUrlError(f"has bytesize={_shown(text)}; allowed: 5, 6, 7, 8")


def _parse_stopbits(text: str) -> float:
    if text not in _STOPBITS:
        raise InvalidUrlError(f"has stopbits={_shown(text)}; allowed: 1, 1.5, 2")
    return _STOPBITS[text]


def _shown(text: str) -> str:
    """The bad value as the message quotes it, cut so a hostile one cannot flood a log line."""
    return repr(text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…")


def _host_port(url: str, scheme: str, lowest_port: int = 1) -> tuple[str, int]:
    shape = f"expected {scheme}://host:port"
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket, a host that changes under NFKC
        raise InvalidUrlError(f"is not a valid URL; {shape}") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidUrlError(f"carries credentials; {shape}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidUrlError(f"has a path or query; {shape}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or not lowest_port <= port <= 65535:
        raise InvalidUrlError(f"needs a port from {lowest_port} to 65535; {shape}")
    if not parts.hostname:
        raise InvalidUrlError(f"needs a host; {shape}")
    return parts.hostname, port


def parse_tcp(url: str) -> TcpConnection:
    return TcpConnection(*_host_port(url, "tcp"))


def parse_listen(url: str) -> ListenConnection:
    return ListenConnection(*_host_port(url, "listen", lowest_port=0))


def parse_udp(url: str) -> UdpConnection:
    return UdpConnection(*_host_port(url, "udp"))
