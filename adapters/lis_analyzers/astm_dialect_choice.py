"""The dialect each ASTM message of one connection is read with, said once per connection.

``dialect = "auto"`` takes a dialect only when exactly one dialect's match rules fit the H
record (ADR 0016). When none or several fit, the message is read as ``generic`` and a warning
names the candidates, so a site sees at once that it should set the device's dialect; reading
it with whichever dialect sorted first is how a Mindray BC lost its test codes (issue 12).
Each distinct choice is logged once per connection (info, or a warning when it is a fallback):
an analyzer sending a thousand results does not write a thousand lines. No PHI: dialect names,
the device id and the peer address only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from adapters.astm.dialect import Dialect, dialect_candidates, load_dialect

log = logging.getLogger(__name__)

AUTO = "auto"
GENERIC = "generic"
_LOGGED_LIMIT = 32
"""Distinct choices remembered per connection; past that, nothing more is logged (bounded)."""


class ConnectionDialects:
    """Chooses (``auto``) or applies (configured) the dialect of each message of a connection."""

    def __init__(self, device_id: str, configured: str, peer: str) -> None:
        self._device_id = device_id
        self._configured = configured
        self._peer = peer
        self._logged: set[tuple[str, tuple[str, ...]]] = set()

    def dialect_for(self, header_fields: Sequence[str]) -> Dialect:
        """The dialect to read a message with, from its H record's raw fields."""
        if self._configured != AUTO:
            self._once(self._configured, (), "configured")
            return load_dialect(self._configured)
        candidates = dialect_candidates(header_fields)
        if len(candidates) == 1:
            self._once(candidates[0], candidates, "auto: only its match rules fit the H record")
            return load_dialect(candidates[0])
        self._once(GENERIC, candidates, "")
        return load_dialect(GENERIC)

    def _once(self, name: str, candidates: tuple[str, ...], why: str) -> None:
        key = (name, candidates)
        if key in self._logged or len(self._logged) >= _LOGGED_LIMIT:
            return
        self._logged.add(key)
        device, peer = self._device_id, self._peer
        if why:
            log.info("device %s: ASTM dialect %s (%s) on %s", device, name, why, peer)
        elif candidates:
            log.warning(
                "device %s: the H record fits several ASTM dialects (%s): read as generic on "
                "%s; set the device's dialect",
                device,
                ", ".join(candidates),
                peer,
            )
        else:
            log.warning(
                "device %s: no ASTM dialect's match rules fit the H record: read as generic on "
                "%s; set the device's dialect if results arrive incomplete",
                device,
                peer,
            )
