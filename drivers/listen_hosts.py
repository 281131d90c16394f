"""Whether two TCP listeners on one port would collide, judged from their host strings alone.

Both ``tcp.listen`` and the control surface bind with ``asyncio.start_server``, which binds
every address a host names and makes IPv6 sockets IPv6-only. So two hosts collide when they
name a common address, or one is the wildcard of the other's family; ``0.0.0.0`` and ``::1``
bind side by side. Config check must not wait on DNS: a name other than ``localhost`` could
be any address, so it is taken to collide with everything.
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_ANY = ipaddress.ip_address("0.0.0.0")  # noqa: S104 - compared, never bound
_V6_ANY = ipaddress.ip_address("::")
# asyncio binds every interface of both families for an empty host; "*" is the common spelling.
_ALL_INTERFACES = frozenset({_V4_ANY, _V6_ANY})
# RFC 6761: localhost is the loopback; the hosts file maps it to both families' loopbacks.
_LOCALHOST = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})


def hosts_overlap(first: str, second: str) -> bool:
    """Tell whether listeners on ``first`` and ``second`` (same port) would collide.

    Hosts are as written in a URL or ``host:port`` value: ``[::1]`` and ``::1`` are one host.
    """
    first_addresses, second_addresses = _addresses(first), _addresses(second)
    if first_addresses is None or second_addresses is None:
        return True
    return any(_collide(a, b) for a in first_addresses for b in second_addresses)


def _addresses(host: str) -> frozenset[Address] | None:
    """The addresses a bind to ``host`` takes; None for a name only DNS could resolve."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in ("", "*"):
        return _ALL_INTERFACES
    if host.lower() == "localhost":
        return _LOCALHOST
    try:
        return frozenset({ipaddress.ip_address(host)})
    except ValueError:
        return None


def _collide(first: Address, second: Address) -> bool:
    if first.version != second.version:
        return False
    return first == second or first.is_unspecified or second.is_unspecified
