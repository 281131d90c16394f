"""Reading a device's value text as a number without changing what it said (ADR 0014).

The text is always kept; a :class:`Decimal` is added only when the whole text is one number,
optionally after a comparator (``<0.5``, ``> 15000.00``, ``>=8``), in point or exponent notation
(``1.2E+3``, ``1.2e-3``, ``1.2E3``). A titer ``1:40`` is a ratio, never a number. A decimal comma
(``7,41``) is read only when the device or dialect says it uses one (``decimal_comma``); without
that setting it stays text flagged :data:`AMBIGUOUS_DECIMAL`, and a point from a decimal-comma
device is flagged likewise: ``1.234`` may be a thousands separator. Nothing is guessed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from adapters.canonical.codes import CodedValue, Comparator, Ratio, ReportedValue, ValueKind

# Flag on an observation whose number uses a decimal separator the device is not set up for.
AMBIGUOUS_DECIMAL = "AMBIGUOUS_DECIMAL"

_COMPARATORS: dict[str, Comparator] = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "=": "="}
_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_PLAIN = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_COMPARED = re.compile(rf"(?P<cmp><=|>=|<|>|=)?\s*(?P<num>{_NUMBER})", re.ASCII)
# Only a titer's shape (``1:40``): ``12:30`` in free text may be a clock time, ``120/80`` a
# blood pressure. HL7 SN states its ratios, so :func:`read_structured` takes any ``n:m``/``n/m``.
_TITER = re.compile(r"(?P<num>1)\s*:\s*(?P<den>\d+)", re.ASCII)


def read_value(text: str, *, decimal_comma: bool = False) -> tuple[ReportedValue, list[str]]:
    """The reading of one value text, and the flags it needs (``[]`` or ``[AMBIGUOUS_DECIMAL]``).

    Args:
        text: The value as sent (surrounding blanks are not part of it).
        decimal_comma: The device writes ``7,41`` for 7.41 (a device option or its dialect).
    """
    text = text.strip()
    compared = _COMPARED.fullmatch(text)
    if compared is not None:
        number = compared["num"]
        foreign = "." if decimal_comma else ","
        if foreign in number:
            return ReportedValue(text=text, kind=ValueKind.TEXT), [AMBIGUOUS_DECIMAL]
        return (
            ReportedValue(
                text=text,
                kind=ValueKind.NUMBER,
                decimal=_decimal(number.replace(",", ".")),
                comparator=_COMPARATORS.get(compared["cmp"] or ""),
            ),
            [],
        )
    titer = _TITER.fullmatch(text)
    if titer is not None:
        parts = Ratio(numerator=_decimal(titer["num"]), denominator=_decimal(titer["den"]))
        return ReportedValue(text=text, kind=ValueKind.RATIO, ratio=parts), []
    return ReportedValue(text=text, kind=ValueKind.TEXT), []


def read_structured(
    components: list[str], *, decimal_comma: bool = False
) -> tuple[ReportedValue, list[str]]:
    """HL7 SN ``comparator^num1^separator^num2``: the text is the field as sent (``<^0.5``).

    ``^1^:^40`` is a ratio; ``<^0.5`` a compared number; a range (``^2^-^5``) or anything else
    is text.
    """
    parts = [c.strip() for c in components] + [""] * 4
    comparator, first, separator, second = parts[:4]
    sent = "^".join(components).rstrip("^").strip()
    if not second and not separator:
        reading, flags = read_value(comparator + first, decimal_comma=decimal_comma)
        if reading.kind is ValueKind.NUMBER or flags:
            return reading.model_copy(update={"text": sent}), flags
    elif separator in {":", "/"} and not comparator:
        terms = [_PLAIN.fullmatch(t) for t in (first, second)]
        if all(terms):
            ratio = Ratio(numerator=_decimal(first), denominator=_decimal(second))
            return ReportedValue(text=sent, kind=ValueKind.RATIO, ratio=ratio), []
    return ReportedValue(text=sent, kind=ValueKind.TEXT), []


def read_coded(components: list[str]) -> ReportedValue:
    """CWE/CNE/CE ``code^text^system``: the text as sent and the code it names."""
    code, display, system = ([c.strip() for c in components] + ["", "", ""])[:3]
    sent = "^".join(components).rstrip("^").strip()
    coded = CodedValue(code=code, system=system or "local", display=display or None)
    return ReportedValue(text=sent, kind=ValueKind.CODED, coded=coded if code else None)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # the patterns above admit only Decimal syntax
        raise AssertionError(text) from exc
