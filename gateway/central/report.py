"""What the reference consumer reports: its tally of what it saw, duplicates and gaps included."""

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
