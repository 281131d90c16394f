"""IEEE 11073 FLOAT-Type: an 8-bit signed exponent over a 24-bit signed mantissa.

value = mantissa * 10^exponent (Programming Guide, "FLOATType"; PROTOCOLS §9.7: ``FF 00 00 0F``
is 1.5). Four mantissas are not numbers and decode to ``None`` so no one charts them: NaN
``0x7FFFFF``, NRes ``0x800000`` ("not at this resolution"), +INF ``0x7FFFFE`` and -INF
``0x800002`` (IEEE 11073-20601).
"""

from __future__ import annotations

import math
from decimal import Decimal

NAN = 0x007FFFFF
NRES = 0x00800000
POSITIVE_INFINITY = 0x007FFFFE
NEGATIVE_INFINITY = 0x00800002
SPECIAL_MANTISSAS = frozenset({NAN, NRES, POSITIVE_INFINITY, NEGATIVE_INFINITY})

MANTISSA_MAX = 0x7FFFFD  # the largest mantissa that is a number
MANTISSA_MIN = -0x7FFFFD
EXPONENT_MIN = -128
EXPONENT_MAX = 127


def decode_float(raw: int) -> float | None:
    """The number a 32-bit FLOAT-Type holds, or ``None`` for NaN, NRes and ±INF."""
    # Decimal keeps 15 * 10^-1 exactly 1.5 rather than 1.5000000000000002.
    exact = decode_decimal(raw)
    return None if exact is None else float(exact)


def decode_decimal(raw: int) -> Decimal | None:
    """The FLOAT-Type as the monitor stated it: mantissa 860 at 10^-2 is ``8.60``, not 8.6."""
    mantissa = raw & 0xFFFFFF
    if mantissa in SPECIAL_MANTISSAS:
        return None
    if mantissa & 0x800000:
        mantissa -= 1 << 24
    exponent = (raw >> 24) & 0xFF
    if exponent & 0x80:
        exponent -= 1 << 8
    return Decimal(mantissa).scaleb(exponent)


def encode_float(value: float | None, *, max_digits: int = 7) -> int:
    """The FLOAT-Type of ``value`` (``None`` and non-finite numbers become NaN / ±INF).

    The shortest exact decimal is used when it fits in 24 bits; otherwise the value is rounded
    to the most significant digits that fit (``max_digits`` at most).

    Raises:
        ValueError: the magnitude is beyond what an 8-bit exponent can scale.
    """
    if value is None or math.isnan(value):
        return NAN
    if math.isinf(value):
        return POSITIVE_INFINITY if value > 0 else NEGATIVE_INFINITY
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digit_list = list(digits)
    while _mantissa(digit_list) > MANTISSA_MAX or len(digit_list) > max_digits:
        cut = len(digit_list) - 1
        rounded = Decimal((sign, tuple(digit_list), exponent)).quantize(
            Decimal((0, (1,), exponent + len(digit_list) - cut))
        )
        sign, new_digits, new_exponent = rounded.normalize().as_tuple()
        assert isinstance(new_exponent, int)
        digit_list, exponent = list(new_digits), new_exponent
    mantissa = _mantissa(digit_list) * (-1 if sign else 1)
    if mantissa == 0:
        return 0
    while exponent > EXPONENT_MAX and abs(mantissa) * 10 <= MANTISSA_MAX:
        mantissa, exponent = mantissa * 10, exponent - 1
    if exponent < EXPONENT_MIN or exponent > EXPONENT_MAX:
        raise ValueError(f"{value!r} is out of FLOAT-Type range")
    return ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)


def _mantissa(digits: list[int]) -> int:
    return int("".join(map(str, digits)) or "0")
