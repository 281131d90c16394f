"""What a runner reads of its device's configuration: read-only and structural.

The daemon passes its inventory entry; tests pass small frozen dataclasses. Each runner asks
only for what it reads, so a fake need not grow fields its runner ignores. The options type is
covariant: a runner typed for ``Hl7LinkOptions`` takes a device whose options are a subclass.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

OptionsT_co = TypeVar("OptionsT_co", covariant=True)


class Device(Protocol[OptionsT_co]):
    """Any device: where it is and its kind's options."""

    @property
    def id(self) -> str: ...

    @property
    def connection(self) -> str: ...

    @property
    def options(self) -> OptionsT_co: ...


class TextDevice(Device[OptionsT_co], Protocol[OptionsT_co]):
    """A device whose bytes are text in a configured encoding (scanners, ASTM, HL7)."""

    @property
    def encoding(self) -> str: ...


class DialectDevice(TextDevice[OptionsT_co], Protocol[OptionsT_co]):
    """A text device whose vendor dialect changes how its messages are read (ASTM, HL7)."""

    @property
    def dialect(self) -> str: ...
