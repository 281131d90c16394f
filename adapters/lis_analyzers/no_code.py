"""A result without a test code is forwarded flagged, never silently (issue 12, ADR 0016).

An empty code is what a wrong dialect produces (a Mindray BC read with the Mindray CL layout
sends WBC and HGB with no code): the value is real, but nobody downstream can tell what it
measures. Refusing it would not help: the analyzer would resend the same bytes, and an ASTM
NAK only makes it retry six times. So the observation is kept, flagged ``NO_CODE`` and
``unmapped``; the gateway counts it in ``wardlink_results_without_code_total`` and the raw
message travels with the envelope, so the lab sees the value and the site fixes the dialect.
"""

from __future__ import annotations

NO_CODE_FLAG = "NO_CODE"


def no_code_flags(code: str) -> list[str]:
    """``["NO_CODE"]`` for an empty (or blank) local test code, else ``[]``."""
    return [] if code.strip() else [NO_CODE_FLAG]
