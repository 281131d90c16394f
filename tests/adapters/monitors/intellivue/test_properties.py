"""Properties: FLOAT and framing round trips, and no byte stream makes a decoder blow up."""

from __future__ import annotations

import contextlib
import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.agent_pdus import encode_poll_result
from adapters.monitors.intellivue.association import decode_association, is_association_pdu
from adapters.monitors.intellivue.attributes import (
    Attribute,
    NumericValue,
    alarms_of,
    encode_numeric,
    numerics_of,
)
from adapters.monitors.intellivue.connect import decode_connect_indication
from adapters.monitors.intellivue.floats import (
    MANTISSA_MAX,
    MANTISSA_MIN,
    decode_float,
    encode_float,
)
from adapters.monitors.intellivue.framing import Frame, FrameDecoder, FrameError, encode_frame
from adapters.monitors.intellivue.pdu import (
    ContextPoll,
    ObservationPoll,
    PollResult,
    decode_data_export,
)
from adapters.monitors.intellivue.session import IntelliVueSession
from adapters.monitors.intellivue.wire import PduError

mantissas = st.integers(MANTISSA_MIN, MANTISSA_MAX)
exponents = st.integers(-20, 20)


@given(mantissas, exponents)
def test_float_round_trip_from_mantissa_and_exponent(mantissa: int, exponent: int) -> None:
    value = float(Decimal(mantissa).scaleb(exponent))
    assert decode_float(encode_float(value)) == value


# Two decimals and at most 24 bits of mantissa: |value| * 100 <= 0x7FFFFD.
@given(st.floats(min_value=-8e4, max_value=8e4, allow_nan=False).map(lambda f: round(f, 2)))
def test_float_round_trip_of_monitor_like_values(value: float) -> None:
    assert decode_float(encode_float(value)) == value


@given(st.integers(0, 2**32 - 1))
def test_any_32_bits_decode_to_a_number_or_none(raw: int) -> None:
    value = decode_float(raw)
    assert value is None or isinstance(value, float)


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5), st.data())
def test_framing_round_trip_across_any_split(pdus: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(p) for p in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    items = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        items += decoder.receive_data(stream[start:end])
    assert items == [Frame(p) for p in pdus]


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), max_size=10))
def test_frame_decoder_never_raises(chunks: list[bytes]) -> None:
    decoder = FrameDecoder(max_frame_bytes=128)
    for chunk in chunks:
        for item in decoder.receive_data(chunk):
            assert isinstance(item, Frame | FrameError)


def _decode_any(data: bytes) -> None:
    if is_association_pdu(data):
        decode_association(data)
    else:
        decode_data_export(data)


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_pdu_decoders_raise_only_pdu_error(data: bytes) -> None:
    for decode in (_decode_any, decode_connect_indication):
        with contextlib.suppress(PduError):
            decode(data)


@settings(max_examples=300)
@given(
    st.sampled_from([b"\xe1\x00\x00\x02", b"\x0e", b"\x00\x00\x01\x00"]),
    st.binary(max_size=200),
)
def test_pdu_decoders_with_plausible_headers_raise_only_pdu_error(head: bytes, tail: bytes) -> None:
    test_pdu_decoders_raise_only_pdu_error.hypothesis.inner_test(head + tail)  # type: ignore[attr-defined]


@given(st.lists(st.binary(max_size=120), max_size=8))
def test_session_takes_any_pdu_without_raising(pdus: list[bytes]) -> None:
    session = IntelliVueSession()
    session.start(0.0)
    for n, pdu in enumerate(pdus):
        session.receive_pdu(pdu, float(n))
        session.handle_timeout(float(n))
    session.events()


numeric_values = st.builds(
    NumericValue,
    physio_id=st.integers(0, 0xFFFF),
    state=st.integers(0, 0xFFFF),
    unit_code=st.integers(0, 0xFFFF),
    value=st.one_of(
        st.none(), st.builds(lambda m, e: float(Decimal(m).scaleb(e)), mantissas, exponents)
    ),
)
observations = st.builds(
    lambda handle, values: ObservationPoll(
        handle, tuple(Attribute(nom.NOM_ATTR_NU_VAL_OBS, encode_numeric(v)) for v in values)
    ),
    st.integers(0, 0xFFFF),
    st.lists(numeric_values, max_size=4),
)
poll_results = st.builds(
    PollResult,
    invoke_id=st.integers(0, 0xFFFF),
    poll_number=st.integers(0, 0xFFFF),
    object_type=st.sampled_from([nom.NOM_MOC_VMO_METRIC_NU, nom.NOM_MOC_VMO_AL_MON]),
    contexts=st.lists(
        st.builds(
            ContextPoll,
            st.integers(0, 0xFFFF),
            st.lists(observations, max_size=4).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
    extended=st.booleans(),
    sequence_no=st.integers(0, 0xFFFF),
    relative_time=st.integers(0, 2**32 - 1),
    linked=st.one_of(st.none(), st.tuples(st.sampled_from([1, 2, 3]), st.integers(1, 255))),
)


@given(poll_results)
def test_poll_result_round_trip(result: PollResult) -> None:
    if not result.extended:
        result = dataclasses.replace(result, sequence_no=0)  # only extended results carry it
    decoded = decode_data_export(encode_poll_result(result))
    assert decoded == result
    assert isinstance(decoded, PollResult)
    for observation in decoded.observations:
        numerics_of(observation.attributes)
        alarms_of(observation.attributes)
