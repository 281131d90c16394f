"""IntelliVue numerics keep the digits the monitor stated (FLOAT-Type mantissa and exponent)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.canonical.codes import Observation, ValueKind
from adapters.monitors.intellivue.attributes import read_numeric
from adapters.monitors.intellivue.events import vitals_from_numerics
from adapters.monitors.intellivue.floats import MANTISSA_MAX, MANTISSA_MIN, decode_float
from adapters.monitors.intellivue.session_events import NumericReading, Numerics
from adapters.monitors.intellivue.wire import Reader, u16, u32

SPO2, PERCENT = 0x4BB8, 0x0220


def nu_obs_value(mantissa: int, exponent: int) -> bytes:
    raw = ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
    return u16(SPO2) + u16(0) + u16(PERCENT) + u32(raw)


def observation_of(wire: bytes) -> Observation:
    numeric = read_numeric(Reader(wire))
    reading = NumericReading(
        numeric.physio_id,
        None,
        numeric.value,
        numeric.unit_code,
        numeric.state,
        None,
        numeric.exact,
    )
    (observation,) = vitals_from_numerics(Numerics("Bed 7", None, [reading])).observations
    return observation


def test_trailing_zeros_the_monitor_sent_are_kept() -> None:
    observation = observation_of(nu_obs_value(860, -2))
    assert observation.value == 8.6  # schema 1.0
    assert observation.reported is not None
    assert observation.reported.text == "8.60"
    assert str(observation.reported.decimal) == "8.60"


def test_not_a_number_has_no_reading() -> None:
    observation = observation_of(nu_obs_value(0x7FFFFF, 0))  # NaN
    assert observation.reported is None
    assert "INVALID" in observation.flags


@given(st.integers(MANTISSA_MIN, MANTISSA_MAX), st.integers(-128, 127))
def test_every_float_type_reads_exactly(mantissa: int, exponent: int) -> None:
    observation = observation_of(nu_obs_value(mantissa, exponent))
    reported = observation.reported
    assert reported is not None
    assert reported.kind is ValueKind.NUMBER
    assert reported.decimal is not None
    assert reported.decimal.as_tuple() == Decimal(mantissa).scaleb(exponent).as_tuple()
    raw = ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
    assert observation.value == decode_float(raw)
