"""What the reference consumer reports: its tally, and one human line per event (``--pretty``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.central.sequences import SequenceTracker


@dataclass
class Tally:
    """What the consumer saw; duplicates and gaps are reported, never hidden."""

    received: int = 0
    unique: int = 0
    duplicates: int = 0
    invalid: int = 0
    digest_mismatches: int = 0
    digests_verified: int = 0
    sequences: SequenceTracker = field(default_factory=SequenceTracker)

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "digest_mismatches": self.digest_mismatches,
            "digests_verified": self.digests_verified,
            "sequence_gaps": self.sequences.gaps(),
            "sequence_late": dict(self.sequences.late),
        }


def pretty_line(envelope: dict[str, Any]) -> str:
    """One human line per event: codes and values, never patient names."""
    payload = envelope["payload"]
    head = f"{envelope['received_at'][11:23]} {envelope['device_id']:<16} #{envelope['seq']:<5}"
    kind = payload["kind"]
    if kind in ("lab_result", "vital_signs"):
        parts = [
            f"{(o.get('code') or o['local_code'])['code']}={o.get('value')} {o.get('unit') or ''}"
            for o in payload["observations"]
        ]
        return f"{head} {kind:<14} " + " ".join(parts)
    if kind == "qc_result":
        # Role, control material and level: no patient is involved.
        parts = [
            f"{(o.get('code') or o['local_code'])['code']}={o.get('value')}"
            for o in payload["observations"]
        ]
        flag = " AMBIGUOUS" if payload.get("ambiguous") else ""
        what = " ".join(str(v) for k in ("role", "control", "level") if (v := payload.get(k)))
        return f"{head} {kind:<14} {what}{flag} " + " ".join(parts)
    if kind == "identification":
        # Specimen labels and product codes are shown; a person's card is not (PHI).
        fields = {k: v for k, v in payload.get("fields", {}).items() if k != "aim_id"}
        if payload.get("person"):
            shown = "person card"
        elif fields:
            shown = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
        else:
            shown = payload["data"][:40]
        return f"{head} {kind:<14} {payload.get('symbology') or 'barcode':<8} {shown}"
    if kind == "alarm":
        return f"{head} {kind:<14} {payload['priority']} {payload['state']} {payload['text']}"
    if kind == "order_query":
        return f"{head} {kind:<14} specimens {' '.join(payload['specimen_ids'])}"
    return f"{head} {kind}"
