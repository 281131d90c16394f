"""A device kind as one declaration: everything the gateway, the CLI and the docs know of it.

Each kind's folder holds one :class:`DeviceKind` object (``KIND``); the gateway's registry maps
an inventory ``kind`` name to its import string, imported only when needed (python-can's
``BACKENDS``). ``wardlink config check``, ``wardlink sim``, ``config sample``, the README's table
of kinds and the docs test all read the same object. Adding a kind is its folder plus one
registry row (ADR 0018).

At start the gateway calls :attr:`DeviceKind.prepare` once per device: it checks what can only
be checked then (a dialect file, a code map), builds what the device's connections share (the
rate policy, the code map) and returns a :class:`PreparedDevice`, whose ``new_session`` makes
one :class:`~adapters.session.DeviceSession` per connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from adapters.session import DeviceSession

Capability = Literal["byte_stream", "datagram", "registers", "apdu", "input_events"]
"""What a connection carries (declared per URL scheme by the drivers)."""


@dataclass(frozen=True, slots=True)
class DeviceSetup:
    """One inventory entry, its options validated by the kind's model."""

    id: str
    connection: str
    dialect: str
    encoding: str
    options: Any
    capability: Capability


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """TLS for a stream connection; the gateway builds the context (server or client side)."""

    cert_file: Path | None
    key_file: Path | None
    peer_ca_file: Path | None


@dataclass(frozen=True, slots=True)
class PreparedDevice:
    """What the driving loop needs to serve one device.

    Attributes:
        new_session: The session of a new connection, given the peer's name (for logs).
        idle_timeout_s: Close a connection silent this long while its session has no deadline
            of its own; ``None``: never (a polling session always has one).
        max_connections: Listening transports: peers served at once.
        tls: TLS over TCP, or ``None``.
        close_wait_s: How long a session that asked for it may say goodbye when stopped.
    """

    new_session: Callable[[str], DeviceSession]
    idle_timeout_s: float | None = None
    max_connections: int = 16
    tls: TlsFiles | None = None
    close_wait_s: float = 2.0


@dataclass(frozen=True, slots=True)
class Simulator:
    """A simulator under ``tests/hardware_sim/`` that stands in for this kind's devices."""

    name: str
    module: str
    description: str


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """One device kind.

    Attributes:
        name: The inventory's ``kind``.
        description: One line for ``config sample`` and the README's table.
        options_model: The pydantic model of ``[devices.options]``.
        prepare: Validates and builds what one device's connections share (raises
            ``ValueError`` or ``OSError`` for a configuration that cannot run).
        schemes: Connection URL schemes the kind works over.
        sample_config: The kind's annotated sample inventory entry.
        dialects: Vendor dialects beyond ``generic``, which every kind accepts.
        default_dialect: The dialect of a device whose entry names none.
        asks_host: Devices ask the centre (host query): the gateway subscribes to answers.
        simulator: What stands in for the device in ``wardlink sim`` and ``make demo``.
    """

    name: str
    description: str
    options_model: type[BaseModel]
    prepare: Callable[[DeviceSetup], PreparedDevice]
    schemes: tuple[str, ...]
    sample_config: Path
    dialects: tuple[str, ...] = ()
    default_dialect: str = "generic"
    asks_host: bool = False
    simulator: Simulator | None = None

    @property
    def allowed_dialects(self) -> tuple[str, ...]:
        return ("generic", *(name for name in self.dialects if name != "generic"))
