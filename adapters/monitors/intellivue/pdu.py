"""Data Export remote operations: event reports, poll requests and results (big-endian).

A Data Export message is ``SPpdu`` (``E1 00``, presentation context 2), ``ROapdus``
(``ro_type``, length), then one remote operation header: ``ROIVapdu`` (invoke), ``RORSapdu``
(result), ``ROLRSapdu`` (one part of a linked result, with ``state`` first / middle / last and
a counter) or ``ROERapdu`` (error); Programming Guide "Protocol Command Structure". Decoded:

- Invokes from the monitor: the MDS Create Event Report (``NOM_NOTI_MDS_CREAT``) that follows
  an association; from a host: poll requests (single ``NOM_ACT_POLL_MDIB_DATA`` and extended
  ``NOM_ACT_POLL_MDIB_DATA_EXT``, whose optional ``NOM_ATTR_TIME_PD_POLL`` asks for periodic
  results), read by the simulator.
- Results: poll results (``PollMdibDataReply``; the extended one adds ``sequence_no``), whole or
  as linked parts, and the MDS Create Event Result.
- Errors, and anything else as :class:`OtherOperation` (a host may ignore it).

:func:`decode_data_export` raises only :class:`~.wire.PduError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import (
    Attribute,
    encode_attribute_list,
    find,
    read_absolute_time,
    read_attribute_list,
    read_string,
    read_u32,
)
from adapters.monitors.intellivue.wire import PduError, Reader, u16, u32

_SPPDU = u16(nom.DATA_EXPORT_SESSION_ID) + u16(nom.DATA_EXPORT_CONTEXT_ID)


@dataclass(frozen=True, slots=True)
class ManagedObject:
    object_class: int = nom.NOM_MOC_VMS_MDS
    context: int = 0
    handle: int = 0

    def encode(self) -> bytes:
        return u16(self.object_class) + u16(self.context) + u16(self.handle)


def _read_object(reader: Reader) -> ManagedObject:
    return ManagedObject(reader.u16(), reader.u16(), reader.u16())


@dataclass(frozen=True, slots=True)
class MdsCreateReport:
    """The monitor's MDS object, announced once an association is accepted."""

    invoke_id: int
    event_time: int
    managed_object: ManagedObject
    attributes: tuple[Attribute, ...]

    @property
    def bed_label(self) -> str | None:
        value = find(self.attributes, nom.NOM_ATTR_ID_BED_LABEL)
        return (read_string(value) or None) if value is not None else None

    @property
    def clock(self) -> tuple[datetime, int] | None:
        """The monitor's wall clock and the RelativeTime it corresponds to, when both are sent."""
        absolute = find(self.attributes, nom.NOM_ATTR_TIME_ABS)
        relative = find(self.attributes, nom.NOM_ATTR_TIME_REL)
        if absolute is None or relative is None:
            return None
        when = read_absolute_time(absolute)
        return (when, read_u32(relative)) if when is not None else None


@dataclass(frozen=True, slots=True)
class EventReportResult:
    invoke_id: int
    managed_object: ManagedObject
    current_time: int
    event_type: int


@dataclass(frozen=True, slots=True)
class PollRequest:
    invoke_id: int
    poll_number: int
    object_type: int
    attribute_group: int = nom.NOM_ATTR_GRP_ALL
    extended: bool = False
    attributes: tuple[Attribute, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservationPoll:
    """One object instance's polled attributes."""

    handle: int
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class ContextPoll:
    context_id: int
    observations: tuple[ObservationPoll, ...]


@dataclass(frozen=True, slots=True)
class PollResult:
    """A (single or extended) poll result, or one linked part of one."""

    invoke_id: int
    poll_number: int
    object_type: int
    contexts: tuple[ContextPoll, ...] = ()
    extended: bool = False
    sequence_no: int = 0
    relative_time: int = 0
    absolute_time: datetime | None = None
    attribute_group: int = nom.NOM_ATTR_GRP_ALL
    linked: tuple[int, int] | None = None
    """``(state, count)`` of a linked part (RORLS_FIRST …), ``None`` for the final result."""
    managed_object: ManagedObject = field(default_factory=ManagedObject)

    @property
    def observations(self) -> list[ObservationPoll]:
        return [o for context in self.contexts for o in context.observations]


@dataclass(frozen=True, slots=True)
class RemoteError:
    invoke_id: int
    error_value: int


@dataclass(frozen=True, slots=True)
class OtherOperation:
    ro_type: int
    invoke_id: int
    command: int


DataPdu = (
    MdsCreateReport | EventReportResult | PollRequest | PollResult | RemoteError | OtherOperation
)


def is_data_export(data: bytes) -> bool:
    return data[:2] == _SPPDU[:2]


def decode_data_export(data: bytes) -> DataPdu:
    """Read one Data Export message (``E1 00 …``)."""
    reader = Reader(data)
    if reader.u16() != nom.DATA_EXPORT_SESSION_ID:
        raise PduError("not a Data Export message (no E1 00 session id)")
    reader.u16()  # presentation context id
    ro_type, length = reader.u16(), reader.u16()
    remote = reader.sub(min(length, reader.remaining))
    if ro_type == nom.ROER_APDU:
        return RemoteError(remote.u16(), remote.u16())
    linked = (remote.u8(), remote.u8()) if ro_type == nom.ROLRS_APDU else None
    invoke_id, command, size = remote.u16(), remote.u16(), remote.u16()
    body = remote.sub(min(size, remote.remaining))
    if ro_type == nom.ROIV_APDU and command in (
        nom.CMD_EVENT_REPORT,
        nom.CMD_CONFIRMED_EVENT_REPORT,
    ):
        return _event_report(invoke_id, body) or OtherOperation(ro_type, invoke_id, command)
    if ro_type == nom.ROIV_APDU and command == nom.CMD_CONFIRMED_ACTION:
        return _poll_request(invoke_id, body) or OtherOperation(ro_type, invoke_id, command)
    if ro_type in (nom.RORS_APDU, nom.ROLRS_APDU) and command == nom.CMD_CONFIRMED_ACTION:
        result = _poll_result(invoke_id, linked, body)
        return result or OtherOperation(ro_type, invoke_id, command)
    if ro_type == nom.RORS_APDU and command == nom.CMD_CONFIRMED_EVENT_REPORT:
        managed, current, event_type = _read_object(body), body.u32(), body.u16()
        return EventReportResult(invoke_id, managed, current, event_type)
    return OtherOperation(ro_type, invoke_id, command)


def _event_report(invoke_id: int, body: Reader) -> MdsCreateReport | None:
    _read_object(body)
    event_time, event_type, length = body.u32(), body.u16(), body.u16()
    if event_type != nom.NOM_NOTI_MDS_CREAT:
        return None
    info = body.sub(min(length, body.remaining))
    managed = _read_object(info)
    return MdsCreateReport(invoke_id, event_time, managed, read_attribute_list(info))


def _poll_request(invoke_id: int, body: Reader) -> PollRequest | None:
    _read_object(body)
    body.u32()  # scope
    action, length = body.u16(), body.u16()
    if action not in (nom.NOM_ACT_POLL_MDIB_DATA, nom.NOM_ACT_POLL_MDIB_DATA_EXT):
        return None
    argument = body.sub(min(length, body.remaining))
    poll_number, _partition, object_type, group = (argument.u16() for _ in range(4))
    extended = action == nom.NOM_ACT_POLL_MDIB_DATA_EXT
    attributes = read_attribute_list(argument) if extended and argument.remaining else ()
    return PollRequest(invoke_id, poll_number, object_type, group, extended, attributes)


def _poll_result(invoke_id: int, linked: tuple[int, int] | None, body: Reader) -> PollResult | None:
    managed = _read_object(body)
    action, length = body.u16(), body.u16()
    if action not in (nom.NOM_ACT_POLL_MDIB_DATA, nom.NOM_ACT_POLL_MDIB_DATA_EXT):
        return None
    reply = body.sub(min(length, body.remaining))
    extended = action == nom.NOM_ACT_POLL_MDIB_DATA_EXT
    poll_number = reply.u16()
    sequence_no = reply.u16() if extended else 0
    relative, absolute = reply.u32(), read_absolute_time(reply.take(8))
    _partition, object_type, group = reply.u16(), reply.u16(), reply.u16()
    count, size = reply.u16(), reply.u16()
    contexts_reader = reply.sub(size)
    contexts = []
    for _ in range(count):
        context_id, observations = contexts_reader.u16(), contexts_reader.u16()
        obs_size = contexts_reader.u16()
        obs_reader = contexts_reader.sub(obs_size)
        polls = tuple(
            ObservationPoll(obs_reader.u16(), read_attribute_list(obs_reader))
            for _ in range(observations)
        )
        contexts.append(ContextPoll(context_id, polls))
    return PollResult(
        invoke_id,
        poll_number,
        object_type,
        tuple(contexts),
        extended,
        sequence_no,
        relative,
        absolute,
        group,
        linked,
        managed,
    )


def message(ro_type: int, remote: bytes) -> bytes:
    """SPpdu and ROapdus around one remote operation."""
    return _SPPDU + u16(ro_type) + u16(len(remote)) + remote


def operation(invoke_id: int, command: int, body: bytes) -> bytes:
    """An ROIV/RORS header (invoke id, command, length) and its body."""
    return u16(invoke_id) + u16(command) + u16(len(body)) + body


def encode_mds_create_result(report: MdsCreateReport, current_time: int | None = None) -> bytes:
    """The host's answer to the MDS Create Event Report (corpus ``mds_create_resp_msg``)."""
    result = (
        report.managed_object.encode()
        + u32(report.event_time if current_time is None else current_time)
        + u16(nom.NOM_NOTI_MDS_CREAT)
        + u16(0)
    )
    return message(
        nom.RORS_APDU, operation(report.invoke_id, nom.CMD_CONFIRMED_EVENT_REPORT, result)
    )


def encode_poll_request(request: PollRequest, *, period_s: float | None = None) -> bytes:
    """A (single or extended) Poll Data Request on the MDS, as in the corpus hex blocks.

    ``period_s`` adds ``NOM_ATTR_TIME_PD_POLL`` to an extended request: the monitor then sends
    results by itself for that long.
    """
    argument = (
        u16(request.poll_number)
        + u16(nom.NOM_PART_OBJ)
        + u16(request.object_type)
        + u16(request.attribute_group)
    )
    action = nom.NOM_ACT_POLL_MDIB_DATA
    if request.extended:
        action = nom.NOM_ACT_POLL_MDIB_DATA_EXT
        attributes = list(request.attributes)
        if period_s is not None:
            ticks = round(period_s * nom.RELATIVE_TICKS_PER_SECOND)
            attributes.append(Attribute(nom.NOM_ATTR_TIME_PD_POLL, u32(ticks)))
        argument += encode_attribute_list(attributes)
    body = ManagedObject().encode() + u32(0) + u16(action) + u16(len(argument)) + argument
    return message(nom.ROIV_APDU, operation(request.invoke_id, nom.CMD_CONFIRMED_ACTION, body))
