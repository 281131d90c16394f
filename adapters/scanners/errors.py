"""Why a scan could not be decoded, as a short reason that is safe to log and count.

Scans carry patient data (a CCCD QR holds name, birth date and address), so an error names the
format and the rule that failed, never the content.
"""

from __future__ import annotations


class ScanDecodeError(ValueError):
    """A scan that has the shape of a known format but breaks its rules.

    Attributes:
        reason: a short kebab-case slug (``cccd-qr-bad-date``) for metrics and logs.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
