"""A simulated Philips IntelliVue monitor speaking Data Export: the agent side of our codec.

:class:`MonitorAgent` is sans-IO: :meth:`~MonitorAgent.receive_pdu` takes a host PDU and returns
the monitor's answers. It accepts an association and sends its MDS Create Event Report (bed
label, clock), answers single and extended polls for numerics (HR, SpO2, RR, temperature from
:class:`tests.hardware_sim.monitor.SimulatedBed`, stepped at each numerics poll, plus an NIBP
compound) and for the alert monitor (a high-priority ``SpO2 LOW`` alarm while SpO2 is below
the limit), answers Release Requests, and remembers every numeric it answered, so a test can
count what must arrive. Transports: a pty with the MIB/RS232 framing, or UDP on 127.0.0.1.

    python -m tests.hardware_sim.intellivue_monitor --pty DIR [--bed "ICU BED 7"]
    python -m tests.hardware_sim.intellivue_monitor --udp PORT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.agent_pdus import encode_mds_create_report, encode_poll_result
from adapters.monitors.intellivue.association import (
    AssociationRequest,
    PollProfile,
    ReleaseRequest,
    UserInfo,
    decode_association,
    encode_association_result,
    encode_release_result,
    is_association_pdu,
)
from adapters.monitors.intellivue.attributes import (
    AlarmEntry,
    Attribute,
    NumericValue,
    encode_absolute_time,
    encode_alarm_list,
    encode_compound,
    encode_numeric,
    encode_string,
)
from adapters.monitors.intellivue.framing import Frame, FrameDecoder, encode_frame
from adapters.monitors.intellivue.pdu import (
    ContextPoll,
    ManagedObject,
    MdsCreateReport,
    ObservationPoll,
    PollRequest,
    PollResult,
    decode_data_export,
)
from adapters.monitors.intellivue.wire import PduError, u32
from tests.hardware_sim.cli_name import prog
from tests.hardware_sim.monitor import LIMITS, NUMERICS, SimulatedBed
from tests.hardware_sim.pty_pair import PtyPair

log = logging.getLogger("intellivue_monitor")

SCADA = 2 << 16
DIM = 4 << 16
SPO2 = 150456 - SCADA
NIBP = (0x4A04, 0x4A05, 0x4A06, 0x4A07)
MMHG = 0x0F20
ALARM_HANDLE = 1


@dataclass
class MonitorAgent:
    bed: SimulatedBed
    bed_label: str = "ICU BED 7"
    clock: datetime = field(default_factory=lambda: datetime(2026, 9, 12, 8, 30, 0))
    split_results: bool = False
    """Answer numerics polls as two linked parts plus a final result (ROLRS, then RORS)."""
    answered: list[list[tuple[int, float]]] = field(default_factory=list)
    alarms_sent: list[str] = field(default_factory=list)
    associated: bool = False
    ticks: int = 0x00100000

    def receive_pdu(self, data: bytes) -> list[bytes]:
        try:
            if is_association_pdu(data):
                return self._association(decode_association(data))
            pdu = decode_data_export(data)
        except PduError:
            return []
        if isinstance(pdu, PollRequest) and self.associated:
            return self._answer(pdu)
        return []

    def _association(self, pdu: object) -> list[bytes]:
        if isinstance(pdu, AssociationRequest):
            self.associated = True
            info = UserInfo(system_type=nom.SYST_SERVER, poll_profile=PollProfile())
            report = MdsCreateReport(1, self.ticks, ManagedObject(), self._mds_attributes())
            return [encode_association_result(info), encode_mds_create_report(report)]
        if isinstance(pdu, ReleaseRequest):
            self.associated = False
            return [encode_release_result()]
        return []

    def _mds_attributes(self) -> tuple[Attribute, ...]:
        return (
            Attribute(nom.NOM_ATTR_ID_BED_LABEL, encode_string(self.bed_label)),
            Attribute(nom.NOM_ATTR_TIME_ABS, encode_absolute_time(self.clock)),
            Attribute(nom.NOM_ATTR_TIME_REL, u32(self.ticks)),
        )

    def _answer(self, request: PollRequest) -> list[bytes]:
        self.ticks = (self.ticks + nom.RELATIVE_TICKS_PER_SECOND) % 2**32
        if request.object_type == nom.NOM_MOC_VMO_METRIC_NU:
            observations = self._numerics()
        elif request.object_type == nom.NOM_MOC_VMO_AL_MON:
            observations = [self._alarms()]
        else:
            observations = []
        base = PollResult(
            request.invoke_id,
            request.poll_number,
            request.object_type,
            extended=request.extended,
            relative_time=self.ticks,
            attribute_group=request.attribute_group,
        )
        if not (self.split_results and len(observations) > 1):
            return [encode_poll_result(_with(base, observations))]
        half = len(observations) // 2
        return [
            encode_poll_result(_with(base, observations[:half], (nom.RORLS_FIRST, 1))),
            encode_poll_result(_with(base, observations[half:], (nom.RORLS_LAST, 2))),
            encode_poll_result(_with(base, [])),
        ]

    def _numerics(self) -> list[ObservationPoll]:
        self.bed.step()
        values = []
        for handle, row in enumerate(NUMERICS, start=10):
            code, unit = str(row[0]), str(row[2])
            value = NumericValue(int(code) - SCADA, 0, int(unit) - DIM, self.bed.values[code])
            attribute = Attribute(nom.NOM_ATTR_NU_VAL_OBS, encode_numeric(value))
            values.append((handle, value, [attribute]))
        nibp = [NumericValue(p, 0, MMHG, v) for p, v in zip(NIBP[1:], (118, 76, 90), strict=True)]
        compound = Attribute(nom.NOM_ATTR_NU_CMPD_VAL_OBS, encode_compound(nibp))
        self.answered.append(
            [(v.physio_id, float(v.value or 0)) for _, v, _ in values]
            + [(n.physio_id, float(n.value or 0)) for n in nibp]
        )
        return [ObservationPoll(h, tuple(a)) for h, _, a in values] + [
            ObservationPoll(30, (compound,))
        ]

    def _alarms(self) -> ObservationPoll:
        low, _high, label = LIMITS[str(SPO2 + SCADA)]
        entries = []
        if self.bed.values.get(str(SPO2 + SCADA), 100.0) < low:
            text = f"{label} LOW"
            entries.append(
                AlarmEntry(
                    SPO2, nom.NOM_EVT_LO, nom.HI_PRI_P_AL, nom.AL_NEW_ALERT, 6, 12, 1, 0, text
                )
            )
            if not self.alarms_sent or self.alarms_sent[-1] != text:
                self.alarms_sent.append(text)
        elif self.alarms_sent and self.alarms_sent[-1] != "end":
            self.alarms_sent.append("end")
        attribute = Attribute(nom.NOM_ATTR_AL_MON_P_AL_LIST, encode_alarm_list(entries))
        technical = Attribute(nom.NOM_ATTR_AL_MON_T_AL_LIST, encode_alarm_list([]))
        return ObservationPoll(ALARM_HANDLE, (attribute, technical))


def _with(
    base: PollResult, observations: list[ObservationPoll], linked: tuple[int, int] | None = None
) -> PollResult:
    return PollResult(
        base.invoke_id,
        base.poll_number,
        base.object_type,
        (ContextPoll(0, tuple(observations)),),
        base.extended,
        base.sequence_no,
        base.relative_time,
        None if base.extended else datetime(2026, 9, 12, 8, 30, 0),
        base.attribute_group,
        linked,
    )


def default_agent(seed: int = 7, bed_label: str = "ICU BED 7") -> MonitorAgent:
    bed = SimulatedBed(bed_label, "PT-0007", "TRẦN^THỊ^MAI", random.Random(seed))
    return MonitorAgent(bed, bed_label)


async def serve_pty(agent: MonitorAgent, pair: PtyPair) -> None:
    """Answer the host over a pty, framed as MIB/RS232, until the pair is unplugged."""
    decoder = FrameDecoder()
    while chunk := await pair.read():
        for item in decoder.receive_data(chunk):
            if isinstance(item, Frame):
                for reply in agent.receive_pdu(item.pdu):
                    await pair.write(encode_frame(reply))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, agent: MonitorAgent) -> None:
        self.agent = agent
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for reply in self.agent.receive_pdu(data):
            self.transport.sendto(reply, addr)


async def serve_udp(
    agent: MonitorAgent, port: int, host: str = "127.0.0.1"
) -> asyncio.DatagramTransport:
    """Answer datagrams on ``host:port`` (the Data Export port); close the transport to stop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(agent), local_addr=(host, port))
    return transport


async def _run(args: argparse.Namespace) -> None:
    agent = default_agent(args.seed, args.bed)
    if args.pty:
        with PtyPair(Path(args.pty)) as pair:
            print(pair.path, flush=True)
            await serve_pty(agent, pair)
        return
    transport = await serve_udp(agent, args.udp)
    log.info("monitor %r answering on udp://127.0.0.1:%d", args.bed, args.udp)
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.intellivue_monitor"),
        description="A Philips IntelliVue monitor speaking Data Export (MIB/RS232 on a pty, or "
        "UDP): answers the gateway's polls with numerics and raises an SpO2 alarm.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", metavar="DIR", help="make a pty pair in DIR; prints its path")
    where.add_argument("--udp", metavar="PORT", type=int, help="answer on udp://127.0.0.1:PORT")
    parser.add_argument("--bed", default="ICU BED 7", help="the bed label the monitor reports")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
