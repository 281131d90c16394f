"""The recipe for a device kind, as small as it gets (ADR 0018): a line-echo thermometer.

The device sends one reading per line (``T 4.2``, degrees Celsius) and waits for the same line
back as its acknowledgement. Everything the kind is lives in this folder: its options, its
session (sans-IO: bytes in, bytes and outputs out) and its declaration. Registering it takes one
row in ``gateway/devices/registry.py``; the driving loop, the transports, the store, the supervisor,
``config check`` and the forwarder are the gateway's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from adapters.canonical.codes import CodedValue
from adapters.canonical.events import EnvironmentReading
from adapters.kind import DeviceKind, DeviceSetup, PreparedDevice
from adapters.session import Rejected, SessionBase, Store

TEMPERATURE = CodedValue(code="8310-5", system="LOINC", display="Body temperature")


class LineEchoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_line: int = Field(default=64, ge=8, le=4096, description="longer lines are rejected")


class LineEchoSession(SessionBase):
    """Each ``T <celsius>`` line is stored, then echoed; anything else is rejected, unanswered."""

    def __init__(self, max_line: int) -> None:
        super().__init__()
        self._max_line = max_line
        self._partial = b""

    def receive_data(self, data: bytes, now: float) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        if len(self._partial) > self._max_line:
            self._emit(Rejected("line too long", self._partial[: self._max_line]))
            self._partial = b""
        for line in lines:
            self._take(line.rstrip(b"\r"))

    def _take(self, line: bytes) -> None:
        name, _, value = line.partition(b" ")
        try:
            celsius = Decimal(value.decode("ascii"))
        except (UnicodeDecodeError, InvalidOperation):
            celsius = None
        if name != b"T" or celsius is None or not celsius.is_finite():
            self._emit(Rejected("not a reading", line))
            return
        reading = EnvironmentReading(quantity=TEMPERATURE, value=float(celsius), unit="Cel")
        self._emit(Store([reading], raw=line, ticket=line))

    def stored(self, ticket: object, refused: str | None) -> None:
        assert isinstance(ticket, bytes)
        if refused is None:  # the echo is the acknowledgement: only once the reading is durable
            self._send(ticket + b"\n")


def prepare(device: DeviceSetup) -> PreparedDevice:
    options: LineEchoOptions = device.options
    return PreparedDevice(new_session=lambda _peer: LineEchoSession(options.max_line))


KIND = DeviceKind(
    name="line-echo",
    description="Example: a thermometer that sends one reading per line and wants it echoed",
    options_model=LineEchoOptions,
    prepare=prepare,
    schemes=("listen", "tcp", "serial"),
    sample_config=Path(__file__).with_name("sample.toml"),
)
