"""Transport contracts: a byte pipe that knows nothing about what flows through it.

The shape is httpcore's ``NetworkStream``: every driver (serial, TCP, later HID) hands the
gateway the same four members, so a device runner and the transport contract suite are written
once. ``read`` returns ``b""`` when the peer has gone, whether it said goodbye (TCP FIN) or just
vanished (TCP reset, an unplugged USB serial adapter): for a runner both mean "reconnect".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol


class DriverError(Exception):
    """Base of every error a driver raises, so a runner can catch transport trouble alone."""


class InvalidUrlError(DriverError, ValueError):
    """A connection URL that no driver accepts (unknown scheme, missing port, bad setting).

    Also a ``ValueError``, so a pydantic validator that parses a URL reports it as a bad value.
    """


class OpenFailedError(DriverError):
    """The port or peer could not be opened; the runner retries with backoff."""


class StreamClosedError(DriverError):
    """A write on a stream that is closed or whose peer has gone."""


class ByteStream(Protocol):
    """One open connection to one device."""

    @property
    def peer(self) -> str:
        """Who is on the other end (``host:port`` or a port path), for logs and state details."""
        ...

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Return the next chunk of bytes as soon as any arrive; ``b""`` once the peer is gone."""
        ...

    async def write(self, data: bytes) -> None:
        """Send all of ``data``, waiting for buffer space; raise StreamClosedError if gone."""
        ...

    async def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...


class Listener(Protocol):
    """Accepts devices that connect to us: enter to bind, iterate for accepted streams.

    The runner owns each accepted stream and must close it; leaving the context stops accepting
    and closes streams nobody took yet.
    """

    @property
    def port(self) -> int:
        """The bound port, known once entered (useful when asked for port 0)."""
        ...

    async def __aenter__(self) -> Listener: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[ByteStream]: ...
