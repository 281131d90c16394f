"""Run one device until cancelled: its kind prepares it, the driving loop serves each connection.

The same for every kind: the declaration (``adapters/<kind>/kind.py``) validates the options
and builds the sessions; :func:`gateway.devices.connections.keep_connected` keeps the transport
up; :func:`gateway.devices.loop.drive` pumps each connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.kind import Capability, DeviceSetup, TlsFiles
from drivers import urls
from drivers.backoff import Backoff
from drivers.base import ByteStream
from drivers.registry import accepts_connections
from gateway.devices.connections import keep_connected
from gateway.devices.intake import Intake
from gateway.devices.loop import drive
from gateway.devices.registry import device_kind


class RunnableDevice(Protocol):
    """An inventory entry, as the daemon or a test hands it over."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def connection(self) -> str: ...
    @property
    def dialect(self) -> str: ...
    @property
    def encoding(self) -> str: ...
    @property
    def options(self) -> Any: ...


@dataclass(frozen=True)
class DeviceConfig:
    """A ready-made :class:`RunnableDevice` (tests, tools); ``dialect=""``: the kind's default."""

    id: str
    kind: str
    connection: str
    options: Any = None
    dialect: str = ""
    encoding: str = "utf-8"


async def run_device(
    device: RunnableDevice, intake: Intake, *, backoff: Backoff | None = None
) -> None:
    """Serve ``device`` until cancelled.

    Raises:
        ValueError, LookupError, OSError: the configuration cannot run (a dialect or code map
            that does not load, an unknown encoding, an unusable URL): nothing to retry.
    """
    kind = device_kind(device.kind)
    options = device.options
    if not isinstance(options, kind.options_model):
        options = kind.options_model.model_validate(options or {})
    setup = DeviceSetup(
        id=device.id,
        connection=device.connection,
        dialect=device.dialect or kind.default_dialect,
        encoding=device.encoding,
        options=options,
        capability=capability_of(device.connection),
    )
    prepared = kind.prepare(setup)
    server = accepts_connections(device.connection)

    async def serve(stream: ByteStream) -> None:
        await drive(stream, device.id, prepared, intake)

    await keep_connected(
        device.id,
        device.connection,
        intake,
        serve,
        backoff=backoff,
        tls=None if prepared.tls is None else tls_context(prepared.tls, server=server),
        max_connections=prepared.max_connections,
    )


# The drivers' word for what a scheme carries, in the contract's vocabulary (adapters/ may not
# import drivers/).
_CAPABILITIES: Mapping[urls.Capability, Capability] = {
    urls.Capability.BYTE_STREAM: "byte_stream",
    urls.Capability.DATAGRAM: "datagram",
    urls.Capability.REGISTER_ACCESS: "registers",
    urls.Capability.APDU_EXCHANGE: "apdu",
    urls.Capability.INPUT_EVENTS: "input_events",
}


def capability_of(url: str) -> Capability:
    return _CAPABILITIES[urls.capability_of(url)]


def tls_context(files: TlsFiles, *, server: bool) -> ssl.SSLContext:
    """TLS over TCP, with client certificates required when a peer CA is configured."""
    if server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if files.peer_ca_file is not None:
            context.load_verify_locations(files.peer_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    else:
        context = ssl.create_default_context(cafile=files.peer_ca_file)
    if files.cert_file is not None and files.key_file is not None:
        context.load_cert_chain(files.cert_file, files.key_file)
    return context
