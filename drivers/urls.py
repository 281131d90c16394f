"""Connection URLs: the one parser, and what each scheme offers and how its port may be shared.

Config check parses a device's URL here before anything runs, and ``drivers/registry.py`` opens
the same parsed spec, so a URL that passes the check is the URL that is opened. Each scheme is
one row of :data:`SCHEMES`:

- its **capability**, what a kind gets from it: a byte stream (``serial``, ``tcp``, ``listen``),
  datagrams (``udp``), register access (``modbus+tcp``, ``modbus+rtu``), APDU exchange
  (``pcsc``) or input events (``hid``);
- its **sharing rule**, how many devices one local port may serve: a serial port or a listen
  port serves one device; an RS-485 bus (``modbus+rtu``) serves several unit addresses, with
  one owner serialising access; an outgoing connection holds no local port;
- its **form** (``drivers/url_forms.py``), or none yet: a planned scheme is refused as "not
  supported yet" until its driver exists, while its capability and sharing are already known.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drivers.base import InvalidUrlError
from drivers.url_forms import (
    Claim,
    ConnectionSpec,
    ListenConnection,
    SerialConnection,
    TcpConnection,
    UdpConnection,
    parse_listen,
    parse_serial,
    parse_tcp,
    parse_udp,
)

__all__ = [
    "PLANNED_SCHEMES",
    "SCHEMES",
    "SUPPORTED_SCHEMES",
    "Capability",
    "Claim",
    "ConnectionSpec",
    "ListenConnection",
    "PortUse",
    "Scheme",
    "SerialConnection",
    "Sharing",
    "TcpConnection",
    "UdpConnection",
    "capability_of",
    "may_share",
    "parse_connection_url",
    "port_use_of",
    "scheme_of",
]


class Capability(enum.Enum):
    """What a kind's session gets from a scheme's driver."""

    BYTE_STREAM = "byte stream"
    DATAGRAM = "datagram"
    REGISTER_ACCESS = "register access"
    APDU_EXCHANGE = "APDU exchange"
    INPUT_EVENTS = "input events"


class Sharing(enum.Enum):
    """How many configured devices one local port of a scheme may serve."""

    NOTHING_HELD = "holds no local port"
    ONE_DEVICE = "one device"
    BUS = "several unit addresses, one owner serialising access"


@dataclass(frozen=True)
class Scheme:
    """One connection URL scheme; ``parse`` is None while the scheme is only planned."""

    name: str
    capability: Capability
    sharing: Sharing
    parse: Callable[[str], ConnectionSpec] | None

    @property
    def supported(self) -> bool:
        return self.parse is not None


_ROWS = (
    Scheme("serial", Capability.BYTE_STREAM, Sharing.ONE_DEVICE, parse_serial),
    Scheme("tcp", Capability.BYTE_STREAM, Sharing.NOTHING_HELD, parse_tcp),
    Scheme("listen", Capability.BYTE_STREAM, Sharing.ONE_DEVICE, parse_listen),
    Scheme("udp", Capability.DATAGRAM, Sharing.NOTHING_HELD, parse_udp),
    # Several units behind one Modbus TCP gateway share its address, not a port of ours.
    Scheme("modbus+tcp", Capability.REGISTER_ACCESS, Sharing.NOTHING_HELD, None),
    Scheme("modbus+rtu", Capability.REGISTER_ACCESS, Sharing.BUS, None),
    # The gateway grabs the input device and holds the reader, so no other device can.
    Scheme("hid", Capability.INPUT_EVENTS, Sharing.ONE_DEVICE, None),
    Scheme("pcsc", Capability.APDU_EXCHANGE, Sharing.ONE_DEVICE, None),
)
SCHEMES: Mapping[str, Scheme] = MappingProxyType({row.name: row for row in _ROWS})
SUPPORTED_SCHEMES: tuple[str, ...] = tuple(row.name for row in _ROWS if row.supported)
PLANNED_SCHEMES: tuple[str, ...] = tuple(row.name for row in _ROWS if not row.supported)


def scheme_of(url: str) -> str:
    """Return the URL's scheme, lower-cased, whether or not it is known.

    Raises:
        InvalidUrlError: the URL has no ``scheme://``.
    """
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise InvalidUrlError(f"has no scheme; expected one of {_allowed()}")
    return scheme.lower()


def parse_connection_url(url: str) -> ConnectionSpec:
    """Parse an inventory ``connection`` string into its typed spec.

    Raises:
        InvalidUrlError: the scheme is unknown or planned, or a part of the URL is malformed;
            the message says what is allowed and does not repeat the URL.
    """
    scheme = _scheme_row(url)
    if scheme.parse is None:
        raise InvalidUrlError(
            f"uses {scheme.name}://, which is not supported yet; allowed: {_allowed()}"
        )
    return scheme.parse(url)


def capability_of(url: str) -> Capability:
    """What the URL's driver offers, declared even for planned schemes."""
    return _scheme_row(url).capability


@dataclass(frozen=True)
class PortUse:
    """How one device uses a local port: what it claims, under its scheme's sharing rule."""

    claim: Claim
    sharing: Sharing


def port_use_of(spec: ConnectionSpec) -> PortUse | None:
    """The local port a device with this spec holds, or None for an outgoing connection."""
    claim = spec.claim
    return None if claim is None else PortUse(claim, SCHEMES[spec.scheme].sharing)


def may_share(first: PortUse, second: PortUse) -> bool:
    """Whether two devices claiming the same port may both run.

    Only devices of a bus share a port, each at its own unit address; the bus's one owner
    then serialises their requests.
    """
    units = (first.claim.unit, second.claim.unit)
    return (
        first.sharing is second.sharing is Sharing.BUS
        and None not in units
        and units[0] != units[1]
    )


def _scheme_row(url: str) -> Scheme:
    name = scheme_of(url)
    scheme = SCHEMES.get(name)
    if scheme is None:
        raise InvalidUrlError(f"has unknown scheme {name}://; allowed: {_allowed()}")
    return scheme


def _allowed() -> str:
    return ", ".join(f"{name}://" for name in SUPPORTED_SCHEMES)
