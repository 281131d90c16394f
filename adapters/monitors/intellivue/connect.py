"""The Connect Indication a LAN monitor broadcasts to UDP 24005 (PROTOCOLS §9.1).

It is an unconfirmed event report (``NOM_NOTI_CONN_INDIC``) after a 4-byte ``Nomenclature``
header, whose attribute list names the monitor: bed label, model, serial number, software
revision, IP address and the UDP port of the Data Export protocol (``NOM_ATTR_PCOL_SUPPORT``,
entry ``AP_ID_DATA_OUT``). Tested against the real capture
``corpus/intellivue_data_export_connect_indication_capture_udp24005.bin``: its production
specification attribute holds a second, truncated copy of the list after the first, and the
bed label comes as attribute ``0xF135`` (UTF-16, no length prefix); both are read leniently.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import (
    find,
    read_attribute_list,
    read_label,
    read_string,
)
from adapters.monitors.intellivue.wire import PduError, Reader

AP_ID_DATA_OUT = 5  # Programming Guide "Protocol Support": the Data Export port entry
NOMENCLATURE_HEADER_SIZE = 4


@dataclass(frozen=True, slots=True)
class ConnectIndication:
    bed_label: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    part_number: str | None = None
    software: str | None = None
    ip_address: str | None = None
    data_export_port: int | None = None


def decode_connect_indication(data: bytes) -> ConnectIndication:
    """Read a Connect Indication datagram.

    Raises:
        PduError: not an event report of type ``NOM_NOTI_CONN_INDIC``, or truncated.
    """
    reader = Reader(data)
    reader.take(NOMENCLATURE_HEADER_SIZE)
    ro_type, _length = reader.u16(), reader.u16()
    _invoke, command, _size = reader.u16(), reader.u16(), reader.u16()
    if ro_type != nom.ROIV_APDU or command != nom.CMD_EVENT_REPORT:
        raise PduError("not an unconfirmed event report")
    reader.take(6)  # managed object
    reader.u32()  # event time
    event_type, size = reader.u16(), reader.u16()
    if event_type != nom.NOM_NOTI_CONN_INDIC:
        raise PduError(f"event type {event_type:#06x} is not a Connect Indication")
    attributes = read_attribute_list(reader.sub(min(size, reader.remaining)))
    label = find(attributes, nom.NOM_ATTR_ID_BED_LABEL) or find(attributes, nom.CONNECT_BED_LABEL)
    manufacturer = model = None
    if (value := find(attributes, nom.NOM_ATTR_ID_MODEL)) is not None:
        model_reader = Reader(value)
        manufacturer, model = read_label(model_reader), read_label(model_reader)
    specs = _production(find(attributes, nom.NOM_ATTR_ID_PROD_SPECN))
    address = find(attributes, nom.NOM_ATTR_NET_ADDR_INFO)
    return ConnectIndication(
        bed_label=read_string(label) or None if label is not None else None,
        manufacturer=manufacturer or None,
        model=model or None,
        serial=specs.get(nom.SERIAL_NUMBER),
        part_number=specs.get(nom.PART_NUMBER),
        software=specs.get(nom.SW_REVISION),
        ip_address=str(ipaddress.IPv4Address(address[6:10]))
        if address and len(address) >= 10
        else None,
        data_export_port=_data_port(find(attributes, nom.NOM_ATTR_PCOL_SUPPORT)),
    )


def _production(value: bytes | None) -> dict[int, str]:
    """Spec type → text, preferring the overall product component (``ID_COMP_PRODUCT``)."""
    if value is None:
        return {}
    reader = Reader(value)
    count, length = reader.u16(), reader.u16()
    body = reader.sub(min(length, reader.remaining))
    found: dict[int, str] = {}
    for _ in range(count):
        spec_type, component = body.u16(), body.u16()
        text = read_label(body)
        if text and (component == nom.ID_COMP_PRODUCT or spec_type not in found):
            found[spec_type] = text
    return found


def _data_port(value: bytes | None) -> int | None:
    if value is None:
        return None
    reader = Reader(value)
    count, length = reader.u16(), reader.u16()
    body = reader.sub(min(length, reader.remaining))
    for _ in range(count):
        application, _transport, port, _options = body.u16(), body.u16(), body.u16(), body.u16()
        if application == AP_ID_DATA_OUT:
            return port
    return None
