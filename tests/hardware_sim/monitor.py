"""A bedside monitor: IHE PCD-01 vital signs, and PCD-04 alarms when a value crosses a limit.

Physiology (invented patients only): each bed draws its own baselines, and every ``step`` moves
each continuous numeric (HR, SpO2, RR, temperature; EtCO2 too with ``etco2=True``) a little
toward a target, with noise, inside physiological bounds. The numerics are coupled the way a
deteriorating patient looks: when SpO2 falls below the patient's baseline, heart rate and
respiration rise, and a faster respiration lowers EtCO2; a fever raises the heart rate. Now and
then (``episode_rate``) a desaturation episode starts and fades. A value set from outside
(``force``, or writing to ``values``) is where the next step starts, so a forced desaturation
recovers gradually, as a real one does.

NIBP (with ``nibp_every``) is episodic: the cuff measures every ``nibp_every`` steps (and at
the first step, the admission reading). Its three numerics carry their own OBX-14 (when the cuff
measured) and ``^APERIODIC`` in OBX-17, as PCD-01 monitors send them; with ``repeat_nibp`` (the
default, as Mindray monitors do) every later snapshot repeats the last reading with its time.

Messages go out over MLLP through :class:`tests.hardware_sim.hl7_sender.Hl7Sender`, each waiting
for its ACK; :mod:`tests.hardware_sim.monitor_ward` runs a ward of them. Without options a bed
sends the classic four numerics (HR, SpO2, RR, temperature), as the demo's bed 7 does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Numeric:
    """One metric as the monitor reports it: MDC code and unit, physiological bounds."""

    code: str
    ref: str
    unit: str
    unit_ref: str
    ucum: str
    """The UCUM unit the gateway's mapper gives for ``unit`` (``mdc_codes.toml``)."""
    low: float
    high: float
    decimals: int
    path: str
    """OBX-4: MDS.VMD.channel.metric."""


HR, SPO2, RR, TEMP, ETCO2 = "147842", "150456", "151562", "150344", "151708"
NIBP_SYS, NIBP_DIA, NIBP_MEAN = "150021", "150022", "150023"
_BPM = ("264864", "MDC_DIM_BEAT_PER_MIN", "/min")
_MMHG = ("266016", "MDC_DIM_MMHG", "mm[Hg]")
_RPM = ("264928", "MDC_DIM_RESP_PER_MIN", "/min")
CLASSIC = (
    Numeric(HR, "MDC_ECG_HEART_RATE", *_BPM, 25, 220, 0, "1.1.1.147842"),
    Numeric(
        SPO2, "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT", "%", 60, 100, 0, "1.2.1.150456"
    ),
    Numeric(RR, "MDC_RESP_RATE", *_RPM, 4, 50, 0, "1.1.2.151562"),
    Numeric(TEMP, "MDC_TEMP", "268192", "MDC_DIM_DEGC", "Cel", 34, 41.5, 1, "1.3.1.150344"),
)
"""The numerics every bed sends."""
CAPNOGRAPHY = Numeric(ETCO2, "MDC_AWAY_CO2_ET", *_MMHG, 10, 80, 0, "1.4.1.151708")
"""Sent with ``etco2=True`` (an intubated or capnography-monitored patient)."""
CONTINUOUS = (*CLASSIC, CAPNOGRAPHY)
EPISODIC = (
    Numeric(NIBP_SYS, "MDC_PRESS_BLD_NONINV_SYS", *_MMHG, 60, 230, 0, "1.5.1.150021"),
    Numeric(NIBP_DIA, "MDC_PRESS_BLD_NONINV_DIA", *_MMHG, 30, 130, 0, "1.5.1.150022"),
    Numeric(NIBP_MEAN, "MDC_PRESS_BLD_NONINV_MEAN", *_MMHG, 40, 160, 0, "1.5.1.150023"),
)
"""The cuff's reading, sent with ``nibp_every``."""
METRICS = {n.code: n for n in (*CONTINUOUS, *EPISODIC)}
# The classic four in the tuple shape other simulators (IntelliVue) read:
# (MDC code, reference id, MDC unit code, unit reference id, start, low, high, step)
NUMERICS = [
    ("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN", 78.0, 40, 140, 3.0),
    ("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT", 96.0, 80, 100, 1.0),
    ("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN", 16.0, 6, 40, 1.0),
    ("150344", "MDC_TEMP", "268192", "MDC_DIM_DEGC", 37.0, 34, 41, 0.1),
]
# Alarm limits the simulated monitor applies: code -> (low, high, label).
LIMITS = {SPO2: (90.0, 101.0, "SpO2"), HR: (50.0, 120.0, "HR")}
# How fast each continuous numeric returns to its target per step, and its noise (SD per step).
_PULL = {HR: 0.15, SPO2: 0.08, RR: 0.10, TEMP: 0.01, ETCO2: 0.10}
_NOISE = {HR: 1.2, SPO2: 0.4, RR: 0.5, TEMP: 0.02, ETCO2: 0.5}


def hl7_time(at: datetime) -> str:
    """DTM to a tenth of a millisecond (HL7's finest), in UTC."""
    at = at.astimezone(UTC)
    return f"{at:%Y%m%d%H%M%S}.{at.microsecond // 100:04d}+0000"


def control_id_of(message: bytes) -> str:
    """MSH-10 of a message this module built."""
    return message.split(b"\r", 1)[0].decode().split("|")[9]


@dataclass
class SimulatedBed:
    bed: str
    patient_id: str
    patient_name: str
    """PID-5 as sent: ``family^given^middle`` (XPN)."""
    rng: random.Random
    etco2: bool = False
    """Send EtCO2 too (the classic four are always sent)."""
    nibp_every: int | None = None
    """Steps between cuff measurements (300 = every 5 min at 1 Hz); ``None``: no cuff."""
    nibp_phase: int = 0
    """Which step of the cycle the cuff measures on, so a ward's cuffs do not inflate together."""
    repeat_nibp: bool = True
    episode_rate: float = 0.0
    """Chance per step that a desaturation episode starts (a ward uses ~0.0005)."""
    point_of_care: str = "ICU"
    birth_date: str = ""
    """PID-7, ``YYYYMMDD``."""
    sex: str = ""
    """PID-8, ``F``/``M``."""
    control_prefix: str = ""
    values: dict[str, float] = field(default_factory=dict)
    """Current values to one decimal (NIBP: the last cuff reading). Writing one forces it."""
    alarming: set[str] = field(default_factory=set)
    counter: int = 0
    steps: int = 0
    nibp_at: datetime | None = None
    last_numerics: tuple[str, ...] = ()
    """MDC codes of the numerics in the last :meth:`vitals` message, in order."""
    baseline: dict[str, float] = field(default_factory=dict)
    _state: dict[str, float] = field(default_factory=dict)
    """Unrounded physiology; ``values`` is what ``step`` last published from it."""
    _published: dict[str, float] = field(default_factory=dict)
    _desaturation: float = 0.0
    _nibp_fresh: bool = False

    def __post_init__(self) -> None:
        if not self.baseline:
            rng = self.rng
            sys = rng.uniform(105, 145)
            self.baseline = {
                HR: rng.uniform(62, 92),
                SPO2: rng.uniform(95, 99),
                RR: rng.uniform(12, 19),
                TEMP: rng.uniform(36.5, 37.4),
                ETCO2: rng.uniform(35, 42),
                NIBP_SYS: sys,
                NIBP_DIA: sys * rng.uniform(0.58, 0.66),
            }
        for numeric in CONTINUOUS:
            self._state[numeric.code] = self.values.get(numeric.code, self.baseline[numeric.code])
        self._publish()

    def _publish(self) -> None:
        for code, value in self._state.items():
            self.values[code] = round(value, 1)
        self._published = dict(self.values)

    def force(self, code: str, value: float) -> None:
        """Set a numeric (a desaturation, a tachycardia); later steps recover from there."""
        self.values[code] = value

    def step(self) -> None:
        """One second of physiology: every continuous numeric moves; the cuff may measure."""
        self.steps += 1
        rng, base, now = self.rng, self.baseline, self._state
        for code, value in self.values.items():
            if value != self._published.get(code):  # forced from outside: carry on from there
                now[code] = value
        if rng.random() < self.episode_rate:
            self._desaturation += rng.uniform(6, 12)
        self._desaturation *= 0.97
        hypoxia = max(0.0, base[SPO2] - now[SPO2])
        fever = max(0.0, now[TEMP] - base[TEMP])
        targets = {
            SPO2: base[SPO2] - self._desaturation,
            HR: base[HR] + 1.2 * hypoxia + 8 * fever,
            RR: base[RR] + 0.3 * hypoxia,
            ETCO2: base[ETCO2] - 0.6 * (now[RR] - base[RR]),
            TEMP: base[TEMP],
        }
        for numeric in CONTINUOUS:
            code = numeric.code
            value = now[code] + _PULL[code] * (targets[code] - now[code])
            value += rng.gauss(0, _NOISE[code])
            now[code] = min(numeric.high, max(numeric.low, value))
        every = self.nibp_every
        if every is not None and (self.steps == 1 or self.steps % every == self.nibp_phase % every):
            self._measure_nibp()
        self._publish()

    def _measure_nibp(self) -> None:
        base, now, rng = self.baseline, self._state, self.rng
        tachycardia = now[HR] - base[HR]
        sys = base[NIBP_SYS] + 0.3 * tachycardia + rng.gauss(0, 5)
        dia = base[NIBP_DIA] + 0.2 * tachycardia + rng.gauss(0, 4)
        sys = min(METRICS[NIBP_SYS].high, max(METRICS[NIBP_SYS].low, sys))
        dia = min(METRICS[NIBP_DIA].high, max(METRICS[NIBP_DIA].low, min(dia, sys - 20)))
        now[NIBP_SYS], now[NIBP_DIA] = sys, dia
        now[NIBP_MEAN] = dia + (sys - dia) / 3
        self.nibp_at = datetime.now(UTC)
        self._nibp_fresh = True

    def shown(self, code: str) -> float:
        """A value as the monitor displays and sends it (rounded to its digits)."""
        return round(self.values[code], METRICS[code].decimals)

    def _format(self, code: str) -> str:
        return f"{self.values[code]:.{METRICS[code].decimals}f}"

    def _header(self, trigger: str) -> list[str]:
        self.counter += 1
        now = hl7_time(datetime.now(UTC))
        return [
            f"MSH|^~\\&|SIM_MONITOR^{self.bed}|WARD|||{now}||ORU^{trigger}^ORU_{trigger}|"
            f"{self.control_prefix}{self.bed}-{trigger}-{self.counter}|P|2.6|||AL|NE||"
            "UNICODE UTF-8",
            f"PID|||{self.patient_id}^^^WARD^PI||{self.patient_name}||{self.birth_date}|"
            f"{self.sex}".rstrip("|"),
            f"PV1||I|{self.point_of_care}^^{self.bed}",
        ]

    def vitals(self) -> bytes:
        """One PCD-01 ORU^R01: the device row, every continuous numeric, the cuff's last reading.

        OBX-4 is MDS → VMD → channel → metric; NIBP rows carry the cuff's time and APERIODIC.
        """
        now = hl7_time(datetime.now(UTC))
        segments = [
            *self._header("R01"),
            f"OBR|1|||182777000^monitoring of patient^SCT|||{now}",
            "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
        ]
        continuous = (*CLASSIC, CAPNOGRAPHY) if self.etco2 else CLASSIC
        rows: list[tuple[Numeric, str, str]] = [(n, now, "") for n in continuous]
        if self.nibp_at is not None and (self.repeat_nibp or self._nibp_fresh):
            rows += [(n, hl7_time(self.nibp_at), "^APERIODIC") for n in EPISODIC]
        for n, (numeric, at, method) in enumerate(rows, start=2):
            segments.append(
                f"OBX|{n}|NM|{numeric.code}^{numeric.ref}^MDC|{numeric.path}|"
                f"{self._format(numeric.code)}|{numeric.unit}^{numeric.unit_ref}^MDC|||||R|||"
                f"{at}|||{method}".rstrip("|")
            )
        self.last_numerics = tuple(numeric.code for numeric, _, _ in rows)
        self._nibp_fresh = False
        return ("\r".join(segments) + "\r").encode()

    def alarms(self) -> list[bytes]:
        """PCD-04 ORU^R40 for each limit newly crossed (start) or recovered (end)."""
        messages = []
        for code, (low, high, _label) in LIMITS.items():
            crossed = not low <= self.shown(code) <= high
            if crossed == (code in self.alarming):
                continue
            self.alarming.symmetric_difference_update({code})
            messages.append(self.alarm(code, "start" if crossed else "end"))
        return messages

    def alarm(self, code: str, phase: str) -> bytes:
        """One PCD-04 ORU^R40 about ``code`` in ``phase`` (``start``, ``update``, ``end``)."""
        low, high, label = LIMITS[code]
        value = self.shown(code)
        numeric = METRICS[code]
        active = phase != "end"
        text = f"{label} {'LOW' if value < low else 'HIGH'}" if active else f"{label} OK"
        now = hl7_time(datetime.now(UTC))
        flag = ("L" if value < low else "H") if active else "N"
        segments = [
            *self._header("R40"),
            f"OBR|1|AL-{self.counter}||196616^MDC_EVT_ALARM^MDC|||{now}",
            f"OBX|1|ST|196616^MDC_EVT_ALARM^MDC|1.3.1.{code}.1|{text}|||{flag}~PH~SP|||F|||{now}",
            f"OBX|2|NM|{code}^{numeric.ref}^MDC|1.3.1.{code}.2|{self._format(code)}|"
            f"{numeric.unit}^{numeric.unit_ref}^MDC|{low:g}-{high:g}|{flag}~PH~SP|||F|||{now}",
            f"OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.3.1.{code}.3|{phase}||||||F",
            f"OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.3.1.{code}.4|"
            f"{'active' if active else 'inactive'}||||||F",
        ]
        return ("\r".join(segments) + "\r").encode()
