"""The demo ward's devices that talk back: analyzers and bedside monitors (``make demo``).

Each coroutine drives one simulator until cancelled, paced like the real instrument, and
narrates only what the consumer cannot show (an analyzer's NAK, an order download).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random

from tests.hardware_sim.astm_analyzer import AnalyzerSimulator, synthetic_results
from tests.hardware_sim.hl7_sender import Hl7Sender, synthetic_oru
from tests.hardware_sim.intellivue_monitor import default_agent, serve_pty
from tests.hardware_sim.monitor import SimulatedBed
from tests.hardware_sim.pty_pair import PtyPair

ORDERED_SPECIMEN = "2611239001"
"""A barcode in the demo's order file (:data:`ORDERS`): the centre answers with its tests."""
UNKNOWN_SPECIMEN = "2611239999"
"""A barcode the centre has no orders for: the analyzer is told "no information"."""
# The centre's order file for host queries; the patient is invented.
ORDERS = f"""\
specimen_id,tests,priority,patient_id,patient_name,specimen_type
{ORDERED_SPECIMEN},GLU CREA ALT,R,BN-DEMO-01,NGUYEN VAN DEMO,Serum
"""


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


async def hl7_analyzer(port: int, rng: random.Random) -> None:
    """A haematology analyzer posting a CBC every 3 s, waiting for each ACK as real ones do."""
    sender = await Hl7Sender.connect("127.0.0.1", port)
    try:
        for n in itertools.count(1):
            ack = await sender.send(synthetic_oru(rng, f"CBC{n:05d}"))
            if ack.code != "AA":
                say(f"analyzer got {ack.code}: {ack.text}")
            await asyncio.sleep(3)
    finally:
        await sender.close()


async def astm_analyzer(device_id: str, pair: PtyPair, uplink: asyncio.Event) -> None:
    """A biochemistry analyzer on RS-232: a chemistry panel every 4 s, each in its own E1381
    session; once the gateway is on the broker (``uplink``), it asks the centre for the orders
    of two barcodes (host query). Asked earlier, it would rightly get "no information".
    """
    analyzer = AnalyzerSimulator.over_pty(pair)
    asked = False
    try:
        for n in itertools.count(1):
            outcome = await analyzer.send(synthetic_results(f"261123{n:04d}", 5, seed=n))
            if not outcome.completed:
                say(f"{device_id} could not send specimen {n}: {outcome.reason}")
            if not asked and uplink.is_set():
                asked = True
                for specimen in (ORDERED_SPECIMEN, UNKNOWN_SPECIMEN):
                    reply = await analyzer.query([specimen], timeout=20)
                    tests = ordered_tests(reply)
                    got = f"got {' '.join(tests)}" if tests else "no information"
                    say(f"{device_id} asked for orders of {specimen}: {got}")
            await asyncio.sleep(4)
    finally:
        await analyzer.close()


def ordered_tests(messages: list[list[bytes]]) -> list[str]:
    r"""The test codes in a host-query reply's O records (``O|1|<id>||^^^GLU\^^^CREA…``).

    An O record with report type Y (no order) or tests ``ALL`` is a dialect's "no information".
    """
    tests: list[str] = []
    for records in messages:
        header = records[0]
        field, repeat, component = (header[i : i + 1].decode() for i in (1, 2, 3))
        for record in records[1:]:
            fields = record.decode("utf-8", errors="replace").split(field)
            if fields[0] != "O" or len(fields) < 5 or (len(fields) > 25 and fields[25] == "Y"):
                continue
            for test in fields[4].split(repeat):
                code = next((c for c in reversed(test.split(component)) if c), "")
                if code and code.upper() != "ALL":
                    tests.append(code)
    return tests


async def monitor(port: int) -> None:
    """Bed 7's monitor: vitals every 2 s; the SpO2 dips once, raising an alarm, then recovers."""
    bed = SimulatedBed("Bed07", "PT-0007", "PHẠM^MINH^ĐỨC", random.Random(7))
    sender = await Hl7Sender.connect("127.0.0.1", port)
    try:
        for n in itertools.count(1):
            bed.step()
            if n in (3, 4):
                bed.values["150456"] = 86.0  # a desaturation the nurse must see first
            for message in [*bed.alarms(), bed.vitals()]:
                await sender.send(message)
            await asyncio.sleep(2)
    finally:
        await sender.close()


async def intellivue_monitor(pair: PtyPair, *, dip_after: int = 8) -> None:
    """Bed 12's Philips IntelliVue on its MIB/RS232 port: the gateway associates and polls it.

    After ``dip_after`` numerics polls (a few seconds after bed 7's dip, so the two alarms do
    not interleave) its SpO2 is forced down to 86 %, and its alert monitor reports ``SpO2 LOW``
    until the physiology has recovered above the limit a few polls later.
    """
    agent = default_agent(seed=12, bed_label="ICU BED 12")
    server = asyncio.create_task(serve_pty(agent, pair))
    try:
        while len(agent.answered) < dip_after and not server.done():
            await asyncio.sleep(0.1)
        agent.bed.values["150456"] = 86.0  # SpO2; later steps recover from here
        await server
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
