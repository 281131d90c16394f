"""Connection URLs from the device inventory, parsed into typed, frozen specs.

Config check must reject a bad URL before any driver runs, so this module accepts the same forms
as ``drivers/registry.py`` (which parses again at open time to stay independent of the gateway):

- ``serial:///dev/serial/by-id/usb-FTDI_XN550-if00-port0?baudrate=9600&parity=E&bytesize=7``
- ``serial://socket://10.0.4.7:4001`` or ``serial://rfc2217://...`` (pyserial URL handlers; their
  own query options pass through, line settings are taken out)
- ``tcp://host:port`` (we connect) and ``listen://host:port`` (devices connect to us)
- ``udp://host:port`` (datagrams to a device's port, e.g. IntelliVue Data Export on 24105)

Every error is a ``ValueError`` whose message says what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

Parity = Literal["N", "E", "O", "M", "S"]

SUPPORTED_SCHEMES: tuple[str, ...] = ("serial", "tcp", "listen", "udp")
# Planned in the architecture; rejected with a clear message until their drivers exist.
PLANNED_SCHEMES: tuple[str, ...] = ("modbus+tcp", "modbus+rtu", "hid", "pcsc")

# 9600 8N1 is what most ward devices ship with.
_DEFAULT_LINE: Mapping[str, str] = {
    "baudrate": "9600",
    "parity": "N",
    "bytesize": "8",
    "stopbits": "1",
}
_PARITIES: tuple[Parity, ...] = ("N", "E", "O", "M", "S")
_BYTESIZES = (5, 6, 7, 8)
_STOPBITS = {"1": 1.0, "1.5": 1.5, "2": 2.0}
_BAUDRATE_RANGE = (50, 4_000_000)


@dataclass(frozen=True)
class SerialConnection:
    """A serial line; ``port`` is a device path or a pyserial URL (``socket://``, ``rfc2217://``)."""

    scheme: ClassVar[str] = "serial"
    port: str
    baudrate: int
    parity: Parity
    bytesize: int
    stopbits: float


@dataclass(frozen=True)
class TcpConnection:
    """An outgoing TCP connection to a device or serial server."""

    scheme: ClassVar[str] = "tcp"
    host: str
    port: int


@dataclass(frozen=True)
class ListenConnection:
    """A TCP port the gateway listens on; the device connects to us."""

    scheme: ClassVar[str] = "listen"
    host: str
    port: int


@dataclass(frozen=True)
class UdpConnection:
    """Datagrams to a device's UDP port (we send first; the device answers to our port)."""

    scheme: ClassVar[str] = "udp"
    host: str
    port: int


ConnectionSpec = SerialConnection | TcpConnection | ListenConnection | UdpConnection


def parse_connection_url(url: str) -> ConnectionSpec:
    """Parse an inventory ``connection`` string into its typed spec.

    Raises:
        ValueError: the scheme is unknown or planned, or a part of the URL is malformed.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or not scheme:
        raise ValueError(f"has no scheme; expected one of {_schemes()}")
    if scheme in PLANNED_SCHEMES:
        raise ValueError(f"uses {scheme}://, which is not supported yet; allowed: {_schemes()}")
    parser = _PARSERS.get(scheme)
    if parser is None:
        raise ValueError(f"has unknown scheme {scheme}://; allowed: {_schemes()}")
    return parser(url, rest)


def _parse_serial(url: str, rest: str) -> SerialConnection:
    target, _, query = rest.partition("?")
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
            raise ValueError(
                f"has unknown serial setting {names}; allowed: {', '.join(_DEFAULT_LINE)}"
            )
        target = unquote(target)
        if not target.startswith("/"):
            raise ValueError(
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
    low, high = _BAUDRATE_RANGE
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"has baudrate={text!r}; allowed: an integer from {low} to {high}")
    return int(text)


def _parse_parity(text: str) -> Parity:
    for parity in _PARITIES:
        if text.upper() == parity:
            return parity
    raise ValueError(f"has parity={text!r}; allowed: {', '.join(_PARITIES)}")


def _parse_bytesize(text: str) -> int:
    if not text.isdigit() or int(text) not in _BYTESIZES:
        raise ValueError(f"has bytesize={text!r}; allowed: 5, 6, 7, 8")
    return int(text)


def _parse_stopbits(text: str) -> float:
    if text not in _STOPBITS:
        raise ValueError(f"has stopbits={text!r}; allowed: 1, 1.5, 2")
    return _STOPBITS[text]


def _host_port(url: str, scheme: str) -> tuple[str, int]:
    parts = urlsplit(url)
    shape = f"expected {scheme}://host:port"
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"carries credentials; {shape}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"has a path or query; {shape}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or not 1 <= port <= 65535:
        raise ValueError(f"needs a port from 1 to 65535; {shape}")
    if not parts.hostname:
        raise ValueError(f"needs a host; {shape}")
    return parts.hostname, port


def _parse_tcp(url: str, _rest: str) -> TcpConnection:
    return TcpConnection(*_host_port(url, "tcp"))


def _parse_listen(url: str, _rest: str) -> ListenConnection:
    return ListenConnection(*_host_port(url, "listen"))


def _parse_udp(url: str, _rest: str) -> UdpConnection:
    return UdpConnection(*_host_port(url, "udp"))


def _schemes() -> str:
    return ", ".join(f"{scheme}://" for scheme in SUPPORTED_SCHEMES)


_PARSERS: Mapping[str, Callable[[str, str], ConnectionSpec]] = {
    "serial": _parse_serial,
    "tcp": _parse_tcp,
    "listen": _parse_listen,
    "udp": _parse_udp,
}
