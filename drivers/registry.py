"""Connection URL scheme → driver, in the manner of pyserial's URL handlers.

``serial://`` and ``tcp://`` mean we open the connection; ``listen://`` means devices connect to
us. The URL is parsed here with urllib so drivers stay independent of the gateway's config
validation (``gateway/connection_url.py``); both must accept the same forms:

- ``serial:///dev/serial/by-id/usb-FTDI-if00?baudrate=9600&parity=E&bytesize=7&stopbits=1``
- ``serial://socket://10.0.4.7:4001`` or ``serial://rfc2217://10.0.4.7:4001?ign_set_control``
  (any pyserial URL; its own query options pass through, line settings are taken out)
- ``tcp://10.0.4.21:7001`` and ``listen://0.0.0.0:7001``
- ``udp://10.13.37.2:24105``: datagrams, one per read (``drivers/udp.py``)
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from drivers import serial, tcp, udp
from drivers.base import ByteStream, InvalidUrlError, Listener

_SETTING_TYPES: Mapping[str, Callable[[str], Any]] = {
    "baudrate": int,
    "parity": str.upper,
    "bytesize": int,
    "stopbits": lambda text: 1.5 if text == "1.5" else int(text),
}


def scheme_of(url: str) -> str:
    """Return the URL's scheme, lower-cased."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise InvalidUrlError(f"{url!r} has no scheme; expected e.g. tcp://host:port")
    return scheme.lower()


def accepts_connections(url: str) -> bool:
    """Tell whether devices connect to us (``listen://``) rather than we to them."""
    return scheme_of(url) in _LISTENERS


async def open_stream(url: str, *, tls: ssl.SSLContext | None = None) -> ByteStream:
    """Open an outgoing connection (``serial://``, ``tcp://``, ``udp://``; TLS only over TCP)."""
    scheme = scheme_of(url)
    opener = _CONNECTORS.get(scheme) or _DATAGRAM_CONNECTORS.get(scheme)
    if opener is None:
        raise InvalidUrlError(f"{url!r}: scheme is not one we connect with; {_allowed()}")
    if tls is not None:
        if scheme != "tcp":
            raise InvalidUrlError(f"{url!r}: TLS needs a tcp:// connection")
        return await tcp.connect(*parse_host_port(url), tls=tls)
    return await opener(url)


def open_listener(url: str, *, tls: ssl.SSLContext | None = None) -> Listener:
    """Return an unbound listener (``listen://``); enter it to start accepting."""
    factory = _LISTENERS.get(scheme_of(url))
    if factory is None:
        raise InvalidUrlError(f"{url!r}: scheme is not one we listen with; {_allowed()}")
    return factory(url, tls)


def parse_serial_url(url: str) -> tuple[str, serial.SerialSettings]:
    """Split a ``serial://`` URL into the port (path or pyserial URL) and its line settings."""
    target, _, query = url.partition("://")[2].partition("?")
    settings: dict[str, Any] = {}
    passthrough: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        convert = _SETTING_TYPES.get(key)
        if convert is None:
            passthrough.append((key, value))
            continue
        try:
            settings[key] = convert(value)
        except ValueError as exc:
            raise InvalidUrlError(f"{url!r}: {key}={value!r} is not valid") from exc
    if "://" not in target:
        if passthrough:
            names = ", ".join(key for key, _ in passthrough)
            allowed = ", ".join(_SETTING_TYPES)
            raise InvalidUrlError(f"{url!r}: unknown serial settings {names}; allowed: {allowed}")
        target = unquote(target)
    elif passthrough:
        target = f"{target}?{urlencode(passthrough)}"
    if not target:
        raise InvalidUrlError(f"{url!r}: no serial port given")
    try:
        return target, serial.SerialSettings(**settings)
    except ValueError as exc:
        raise InvalidUrlError(f"{url!r}: {exc}") from exc


def parse_host_port(url: str) -> tuple[str, int]:
    """Return the host and port of a ``tcp://`` or ``listen://`` URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidUrlError(f"{url!r}: port is not a number from 0 to 65535") from exc
    if not parts.hostname or port is None:
        raise InvalidUrlError(f"{url!r}: expected {parts.scheme}://host:port")
    return parts.hostname, port


async def _connect_serial(url: str) -> ByteStream:
    port, settings = parse_serial_url(url)
    return await serial.open_serial(port, settings)


async def _connect_tcp(url: str) -> ByteStream:
    return await tcp.connect(*parse_host_port(url))


async def _connect_udp(url: str) -> ByteStream:
    return await udp.connect(*parse_host_port(url))


def _listen_tcp(url: str, tls: ssl.SSLContext | None) -> Listener:
    return tcp.listen(*parse_host_port(url), tls=tls)


def _allowed() -> str:
    schemes = (*_CONNECTORS, *_LISTENERS, *_DATAGRAM_CONNECTORS)
    return "allowed: " + ", ".join(f"{scheme}://" for scheme in schemes)


_CONNECTORS: Mapping[str, Callable[[str], Awaitable[ByteStream]]] = {
    "serial": _connect_serial,
    "tcp": _connect_tcp,
}
_LISTENERS: Mapping[str, Callable[[str, ssl.SSLContext | None], Listener]] = {"listen": _listen_tcp}
_DATAGRAM_CONNECTORS: Mapping[str, Callable[[str], Awaitable[ByteStream]]] = {"udp": _connect_udp}
"""Kept apart only so the allowed-schemes message lists the byte-stream schemes first."""
