"""Open a connection URL with its driver, in the manner of pyserial's URL handlers.

``serial://``, ``tcp://`` and ``udp://`` mean we open the connection; ``listen://`` means devices
connect to us. The URL is parsed once, by ``drivers/urls.py`` (the parser config check uses), and
opened from that typed spec:

- ``serial:///dev/serial/by-id/usb-FTDI-if00?baudrate=9600&parity=E&bytesize=7&stopbits=1``
- ``serial://socket://10.0.4.7:4001`` or ``serial://rfc2217://10.0.4.7:4001?ign_set_control``
  (any pyserial URL; its own query options pass through, line settings are taken out)
- ``tcp://10.0.4.21:7001`` and ``listen://0.0.0.0:7001``
- ``udp://10.13.37.2:24105``: datagrams, one per read (``drivers/udp.py``)
"""

from __future__ import annotations

import ssl

from drivers import serial, tcp, udp, urls
from drivers.base import ByteStream, InvalidUrlError, Listener
from drivers.urls import (
    ConnectionSpec,
    ListenConnection,
    SerialConnection,
    TcpConnection,
    UdpConnection,
)


def scheme_of(url: str) -> str:
    """Return the URL's scheme, lower-cased."""
    try:
        return urls.scheme_of(url)
    except InvalidUrlError as exc:
        raise InvalidUrlError(f"{url!r} {exc}") from None


def accepts_connections(url: str) -> bool:
    """Tell whether devices connect to us (``listen://``) rather than we to them."""
    return scheme_of(url) == ListenConnection.scheme


async def open_stream(url: str, *, tls: ssl.SSLContext | None = None) -> ByteStream:
    """Open an outgoing connection (``serial://``, ``tcp://``, ``udp://``; TLS only over TCP)."""
    spec = _parse(url)
    if tls is not None and not isinstance(spec, TcpConnection):
        raise InvalidUrlError(f"{url!r}: TLS needs a tcp:// connection")
    match spec:
        case SerialConnection():
            return await serial.open_serial(*_serial_target(spec))
        case TcpConnection(host=host, port=port):
            return await tcp.connect(host, port, tls=tls)
        case UdpConnection(host=host, port=port):
            return await udp.connect(host, port)
        case ListenConnection():
            raise InvalidUrlError(
                f"{url!r}: devices connect to a listen:// URL; we connect with "
                "serial://, tcp:// or udp://"
            )


def open_listener(url: str, *, tls: ssl.SSLContext | None = None) -> Listener:
    """Return an unbound listener (``listen://``); enter it to start accepting."""
    spec = _parse(url)
    if not isinstance(spec, ListenConnection):
        raise InvalidUrlError(f"{url!r}: scheme is not one we listen with; allowed: listen://")
    return tcp.listen(spec.host, spec.port, tls=tls)


def _serial_target(spec: SerialConnection) -> tuple[str, serial.SerialSettings]:
    settings = serial.SerialSettings(spec.baudrate, spec.parity, spec.bytesize, spec.stopbits)
    return spec.port, settings


def _parse(url: str) -> ConnectionSpec:
    try:
        return urls.parse_connection_url(url)
    except InvalidUrlError as exc:
        raise InvalidUrlError(f"{url!r} {exc}") from None
