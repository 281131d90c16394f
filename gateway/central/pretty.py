"""``wardlink consume --pretty``: one human line per event, in columns that stay aligned.

Vital signs show the name the envelope carries beside each code (the gateway names MDC codes from
its nomenclature table), so ``SpO2 150456=97.2 %`` reads without a code list at hand. Device ids
have no length limit: the device and sequence columns widen to the longest seen so far, and stay
that wide. Every character a terminal would act on (a newline in a display name, an escape
sequence) is shown as ``?``: an event prints one line and cannot forge another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.forwarding.topics import KIND_SEGMENTS

_KIND_WIDTH = max(len(kind) for kind in KIND_SEGMENTS)
_DEVICE_WIDTH = 24  # the demo's and most wards' ids fit from the first line
_SEQ_WIDTH = 7  # "#" and six digits


class PrettyLines:
    def __init__(self) -> None:
        self._device_width = _DEVICE_WIDTH
        self._seq_width = _SEQ_WIDTH

    def line(self, envelope: dict[str, Any]) -> str:
        """One human line per event: codes, names and values, never patient names."""
        device, seq = envelope["device_id"], f"#{envelope['seq']}"
        self._device_width = max(self._device_width, len(device))
        self._seq_width = max(self._seq_width, len(seq))
        payload = envelope["payload"]
        kind = payload["kind"]
        details = _DETAILS[kind](payload) if kind in _DETAILS else ""
        line = (
            f"{envelope['received_at'][11:23]} {device:<{self._device_width}} "
            f"{seq:<{self._seq_width}} {kind:<{_KIND_WIDTH}} {details}"
        )
        return "".join(char if char.isprintable() else "?" for char in line.rstrip())


def _code(observation: dict[str, Any]) -> dict[str, Any]:
    coded: dict[str, Any] = observation.get("code") or observation["local_code"]
    return coded


def _value(o: dict[str, Any]) -> str:
    return f"{_code(o)['code']}={o.get('value')} {o.get('unit') or ''}".rstrip()


def _vital_signs(payload: dict[str, Any]) -> str:
    named = (f"{_code(o).get('display') or ''} {_value(o)}" for o in payload["observations"])
    return ", ".join(text.lstrip() for text in named)


def _lab_result(payload: dict[str, Any]) -> str:
    return " ".join(_value(o) for o in payload["observations"])


def _qc_result(payload: dict[str, Any]) -> str:
    # Role, control material and level: no patient is involved.
    parts = [f"{_code(o)['code']}={o.get('value')}" for o in payload["observations"]]
    flag = " AMBIGUOUS" if payload.get("ambiguous") else ""
    what = " ".join(str(v) for k in ("role", "control", "level") if (v := payload.get(k)))
    return f"{what}{flag} " + " ".join(parts)


def _identification(payload: dict[str, Any]) -> str:
    # Specimen labels and product codes are shown; a person's card is not (PHI).
    fields = {k: v for k, v in payload.get("fields", {}).items() if k != "aim_id"}
    if payload.get("person"):
        shown = "person card"
    elif fields:
        shown = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    else:
        shown = payload["data"][:40]
    return f"{payload.get('symbology') or 'barcode':<8} {shown}"


def _alarm(payload: dict[str, Any]) -> str:
    return f"{payload['priority']} {payload['state']} {payload['text']}"


def _order_query(payload: dict[str, Any]) -> str:
    return f"specimens {' '.join(payload['specimen_ids'])}"


_DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
    "vital_signs": _vital_signs,
    "lab_result": _lab_result,
    "qc_result": _qc_result,
    "identification": _identification,
    "alarm": _alarm,
    "order_query": _order_query,
}
