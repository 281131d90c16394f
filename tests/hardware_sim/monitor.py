"""A bedside monitor: IHE PCD-01 vital signs, and PCD-04 alarms when a value crosses a limit.

Physiology is a bounded random walk per bed (invented patients only). Messages go out over MLLP
through :class:`tests.hardware_sim.hl7_sender.Hl7Sender`, each waiting for its ACK.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

# (MDC code, reference id, MDC unit code, unit reference id, start, low, high, step)
NUMERICS = [
    ("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN", 78.0, 40, 140, 3.0),
    ("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT", 96.0, 80, 100, 1.0),
    ("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN", 16.0, 6, 40, 1.0),
    ("150344", "MDC_TEMP", "268192", "MDC_DIM_DEGC", 37.0, 34, 41, 0.1),
]
# Alarm limits the simulated monitor applies: code -> (low, high, label).
LIMITS = {"150456": (90.0, 101.0, "SpO2"), "147842": (50.0, 120.0, "HR")}


@dataclass
class SimulatedBed:
    bed: str
    patient_id: str
    patient_name: str
    rng: random.Random
    values: dict[str, float] = field(default_factory=dict)
    alarming: set[str] = field(default_factory=set)
    counter: int = 0

    def step(self) -> None:
        for code, _, _, _, start, low, high, step in NUMERICS:
            value = self.values.get(code, start) + self.rng.uniform(-step, step)
            # Drift back toward normal so a bed does not wander off for good.
            value += (start - value) * 0.05
            self.values[code] = round(min(high, max(low, value)), 1)

    def _header(self, trigger: str) -> list[str]:
        self.counter += 1
        now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
        return [
            f"MSH|^~\\&|SIM_MONITOR^{self.bed}|WARD|||{now}||ORU^{trigger}^ORU_{trigger}|"
            f"{self.bed}-{trigger}-{self.counter}|P|2.6|||AL|NE||UNICODE UTF-8",
            f"PID|||{self.patient_id}^^^WARD^PI||{self.patient_name}",
            f"PV1||I|ICU^^{self.bed}",
        ]

    def vitals(self) -> bytes:
        """One PCD-01 ORU^R01 with every numeric (MDS → VMD → channel → metric in OBX-4)."""
        now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
        segments = [*self._header("R01"), f"OBR|1|||182777000^monitoring of patient^SCT|||{now}"]
        for n, (code, ref, unit, unit_ref, *_rest) in enumerate(NUMERICS, start=1):
            segments.append(
                f"OBX|{n}|NM|{code}^{ref}^MDC|1.1.1.{n}|{self.values[code]}|"
                f"{unit}^{unit_ref}^MDC|||||R|||{now}"
            )
        return ("\r".join(segments) + "\r").encode()

    def alarms(self) -> list[bytes]:
        """PCD-04 ORU^R40 for each limit newly crossed (start) or recovered (end)."""
        messages = []
        now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
        for code, (low, high, label) in LIMITS.items():
            value = self.values[code]
            crossed = not low <= value <= high
            if crossed == (code in self.alarming):
                continue
            phase = "start" if crossed else "end"
            self.alarming.symmetric_difference_update({code})
            ref, unit, unit_ref = next((r, u, ur) for c, r, u, ur, *_ in NUMERICS if c == code)
            text = f"{label} {'LOW' if value < low else 'HIGH'}" if crossed else f"{label} OK"
            segments = [
                *self._header("R40"),
                f"OBR|1|AL-{self.counter}||196616^MDC_EVT_ALARM^MDC|||{now}",
                f"OBX|1|ST|196616^MDC_EVT_ALARM^MDC|1.3.1.{code}.1|{text}|||L~PH~SP|||F|||{now}",
                f"OBX|2|NM|{code}^{ref}^MDC|1.3.1.{code}.2|{value}|{unit}^{unit_ref}^MDC|"
                f"{low}-{high}|L~PH~SP|||F|||{now}",
                f"OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.3.1.{code}.3|{phase}||||||F",
                f"OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.3.1.{code}.4|"
                f"{'active' if crossed else 'inactive'}||||||F",
            ]
            messages.append(("\r".join(segments) + "\r").encode())
        return messages
