"""The monitor's side of the Data Export remote operations: what the simulator sends.

A host never sends these; they live apart from :mod:`.pdu` so the host's codec stays small, and
they make the round-trip tests possible (encode here, decode there).
"""

from __future__ import annotations

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import encode_absolute_time, encode_attribute_list
from adapters.monitors.intellivue.pdu import MdsCreateReport, PollResult, message, operation
from adapters.monitors.intellivue.wire import u16, u32


def encode_poll_result(result: PollResult) -> bytes:
    """A poll result or linked part (the simulator's side, and round-trip tests)."""
    contexts = b""
    for context in result.contexts:
        observations = b"".join(
            u16(o.handle) + encode_attribute_list(o.attributes) for o in context.observations
        )
        contexts += (
            u16(context.context_id) + u16(len(context.observations)) + u16(len(observations))
        )
        contexts += observations
    reply = u16(result.poll_number)
    if result.extended:
        reply += u16(result.sequence_no)
    reply += (
        u32(result.relative_time)
        + encode_absolute_time(result.absolute_time)
        + u16(nom.NOM_PART_OBJ)
        + u16(result.object_type)
        + u16(result.attribute_group)
        + u16(len(result.contexts))
        + u16(len(contexts))
        + contexts
    )
    action = nom.NOM_ACT_POLL_MDIB_DATA_EXT if result.extended else nom.NOM_ACT_POLL_MDIB_DATA
    body = result.managed_object.encode() + u16(action) + u16(len(reply)) + reply
    op = operation(result.invoke_id, nom.CMD_CONFIRMED_ACTION, body)
    if result.linked is None:
        return message(nom.RORS_APDU, op)
    state, count = result.linked
    return message(nom.ROLRS_APDU, bytes((state, count)) + op)


def encode_mds_create_report(report: MdsCreateReport) -> bytes:
    """The monitor's MDS Create Event Report (simulator side)."""
    info = report.managed_object.encode() + encode_attribute_list(report.attributes)
    argument = (
        report.managed_object.encode()
        + u32(report.event_time)
        + u16(nom.NOM_NOTI_MDS_CREAT)
        + u16(len(info))
        + info
    )
    op = operation(report.invoke_id, nom.CMD_CONFIRMED_EVENT_REPORT, argument)
    return message(nom.ROIV_APDU, op)


def encode_remote_error(invoke_id: int, error_value: int) -> bytes:
    return message(nom.ROER_APDU, u16(invoke_id) + u16(error_value) + u16(0))
