"""Attribute lists and the attribute values a host reads (Programming Guide "Attribute Data Types").

An ``AttributeList`` is ``count u16, length u16`` then AVAs (``attribute_id u16, length u16,
value``). Values stay raw bytes in :class:`Attribute`; the readers below turn the ones we use
into dataclasses. Every reader raises only :class:`~.wire.PduError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.floats import decode_decimal, decode_float, encode_float
from adapters.monitors.intellivue.wire import Reader, u16, u32


@dataclass(frozen=True, slots=True)
class Attribute:
    id: int
    value: bytes


def read_attribute_list(reader: Reader) -> tuple[Attribute, ...]:
    count, length = reader.u16(), reader.u16()
    body = reader.sub(length)
    attributes = []
    for _ in range(count):
        attribute_id, size = body.u16(), body.u16()
        attributes.append(Attribute(attribute_id, body.take(size)))
    return tuple(attributes)


def encode_attribute_list(attributes: Iterable[Attribute]) -> bytes:
    items = list(attributes)
    body = b"".join(u16(a.id) + u16(len(a.value)) + a.value for a in items)
    return u16(len(items)) + u16(len(body)) + body


def find(attributes: Sequence[Attribute], attribute_id: int) -> bytes | None:
    return next((a.value for a in attributes if a.id == attribute_id), None)


@dataclass(frozen=True, slots=True)
class NumericValue:
    """``NuObsValue``: one value with its physiological id, state bits and unit code."""

    physio_id: int
    state: int
    unit_code: int
    value: float | None
    exact: Decimal | None = None
    """The value with the digits the monitor sent (``None`` when built by hand or not a number)."""


def read_numeric(reader: Reader) -> NumericValue:
    physio_id, state, unit = reader.u16(), reader.u16(), reader.u16()
    raw = reader.u32()
    return NumericValue(physio_id, state, unit, decode_float(raw), decode_decimal(raw))


def encode_numeric(numeric: NumericValue) -> bytes:
    return (
        u16(numeric.physio_id)
        + u16(numeric.state)
        + u16(numeric.unit_code)
        + u32(encode_float(numeric.value))
    )


def numerics_of(attributes: Sequence[Attribute]) -> list[NumericValue]:
    """The values of ``NOM_ATTR_NU_VAL_OBS`` and of the compound ``NOM_ATTR_NU_CMPD_VAL_OBS``."""
    values = []
    for attribute in attributes:
        reader = Reader(attribute.value)
        if attribute.id == nom.NOM_ATTR_NU_VAL_OBS:
            values.append(read_numeric(reader))
        elif attribute.id == nom.NOM_ATTR_NU_CMPD_VAL_OBS:
            count, length = reader.u16(), reader.u16()
            body = reader.sub(length)
            values += [read_numeric(body) for _ in range(count)]
    return values


def encode_compound(numerics: Sequence[NumericValue]) -> bytes:
    body = b"".join(encode_numeric(n) for n in numerics)
    return u16(len(numerics)) + u16(len(body)) + body


def read_u32(value: bytes) -> int:
    return Reader(value).u32()


def read_string(value: bytes) -> str:
    """A ``String`` (``length u16`` in bytes, then UTF-16 big-endian), NULs and padding cut.

    The corpus Connect Indication sends the bed label without the length prefix (attribute
    ``0xF135``); a value whose first word is not its own remaining length is read that way.
    """
    reader = Reader(value)
    if len(value) >= 2 and Reader(value).u16() <= len(value) - 2:
        text = reader.take(reader.u16())
    else:
        text = value
    return _utf16(text)


def encode_string(text: str) -> bytes:
    data = text.encode("utf-16-be") + b"\x00\x00"
    return u16(len(data)) + data


def _utf16(data: bytes) -> str:
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-be", errors="replace").split("\x00", 1)[0].strip()


def read_label(reader: Reader) -> str:
    """A ``VariableLabel``: ``length u16`` then 8-bit text; odd lengths are padded to even.

    The corpus System Model sends ``M8007A`` with length 7 and one pad byte.
    """
    length = reader.u16()
    text = reader.take(length)
    if length % 2 and reader.remaining:
        reader.take(1)
    return text.split(b"\x00", 1)[0].decode("latin-1").strip()


def encode_label(text: str) -> bytes:
    data = text.encode("latin-1") + b"\x00"
    if len(data) % 2:
        data += b"\x00"
    return u16(len(data)) + data


def read_absolute_time(value: bytes) -> datetime | None:
    """``AbsoluteTime``: BCD century, year, month, day, hour, minute, second, fraction.

    ``None`` when unset (extended poll results send all ``FF``) or not a real date.
    """
    reader = Reader(value)
    fields = [reader.u8() for _ in range(8)]
    try:
        century, year, month, day, hour, minute, second = (_bcd(b) for b in fields[:7])
        # No zone: the monitor's own clock; the mapper applies the ward's zone.
        return datetime(century * 100 + year, month, day, hour, minute, second)
    except ValueError:
        return None


def encode_absolute_time(when: datetime | None) -> bytes:
    if when is None:
        return b"\xff" * 8
    parts = (
        when.year // 100,
        when.year % 100,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
    )
    return bytes(((p // 10) << 4) | (p % 10) for p in parts) + b"\x00"


def _bcd(byte: int) -> int:
    high, low = byte >> 4, byte & 0x0F
    if high > 9 or low > 9:
        raise ValueError(f"{byte:#04x} is not BCD")
    return high * 10 + low


@dataclass(frozen=True, slots=True)
class AlarmEntry:
    """One ``DevAlarmEntry`` of the patient (P) or technical (T) alarm list."""

    source: int
    code: int
    alert_type: int
    state: int
    object_class: int
    handle: int
    instance: int | None = None
    text_id: int | None = None
    text: str = ""
    technical: bool = False

    @property
    def key(self) -> tuple[bool, int, int, int, int | None]:
        return (self.technical, self.source, self.code, self.handle, self.instance)


def read_alarm_list(value: bytes, *, technical: bool) -> list[AlarmEntry]:
    reader = Reader(value)
    count, length = reader.u16(), reader.u16()
    body = reader.sub(length)
    return [_alarm_entry(body, technical) for _ in range(count)]


def _alarm_entry(reader: Reader, technical: bool) -> AlarmEntry:
    source, code, alert_type, state = reader.u16(), reader.u16(), reader.u16(), reader.u16()
    object_class, _context, handle = reader.u16(), reader.u16(), reader.u16()
    info_id, length = reader.u16(), reader.u16()
    info = reader.sub(length)
    instance = text_id = None
    text = ""
    if info_id in (nom.GEN_ALMON_INFO, nom.STR_ALMON_INFO):
        instance, text_id = info.u16(), info.u32()
        info.u16(), info.u16()  # priority, flags
        if info_id == nom.STR_ALMON_INFO:
            text = read_string(info.rest())
    return AlarmEntry(
        source, code, alert_type, state, object_class, handle, instance, text_id, text, technical
    )


def encode_alarm_list(entries: Sequence[AlarmEntry]) -> bytes:
    body = b""
    for entry in entries:
        info = u16(entry.instance or 0) + u32(entry.text_id or 0) + u16(0) + u16(0)
        info_id = nom.GEN_ALMON_INFO
        if entry.text:
            info, info_id = info + encode_string(entry.text), nom.STR_ALMON_INFO
        body += (
            u16(entry.source)
            + u16(entry.code)
            + u16(entry.alert_type)
            + u16(entry.state)
            + u16(entry.object_class)
            + u16(0)
            + u16(entry.handle)
            + u16(info_id)
            + u16(len(info))
            + info
        )
    return u16(len(entries)) + u16(len(body)) + body


def alarms_of(attributes: Sequence[Attribute]) -> list[AlarmEntry]:
    alarms = []
    for attribute_id, technical in (
        (nom.NOM_ATTR_AL_MON_P_AL_LIST, False),
        (nom.NOM_ATTR_AL_MON_T_AL_LIST, True),
    ):
        value = find(attributes, attribute_id)
        if value is not None:
            alarms += read_alarm_list(value, technical=technical)
    return alarms
