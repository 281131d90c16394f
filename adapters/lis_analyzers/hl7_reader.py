"""One analyzer connection's reading of HL7 lab messages: which dialect, said once, in the log.

With ``dialect = "auto"`` (the hl7-analyzer default) each message's MSH picks the dialect whose
``match`` rules fit it; none, or more than one, gives ``generic`` with a warning, since a wrong
dialect could read a control as a patient's result. The dialect used is logged once per
connection (and whenever it changes) and travels in every event's ``analyzer.dialect``. A
result sent as ``qc_result`` on the safe side (ambiguous marks) is warned about once per
connection, naming only the marks (codes, never patient data), and counted by the pipeline.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from adapters.canonical.events import CanonicalEvent, QcResult
from adapters.codemap import CodeMap
from adapters.hl7.dialect import GENERIC, load_hl7_dialect, matching_dialects, msh_fields
from adapters.hl7.message import Message
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from adapters.zones import gateway_zone

log = logging.getLogger(__name__)

AUTO = "auto"


class AnalyzerReader:
    """The mapper of one connection of an ``hl7-analyzer`` device."""

    def __init__(
        self,
        device_id: str,
        dialect: str,
        code_map: CodeMap,
        peer: str,
        *,
        local_zone: tzinfo | None = None,
        decimal_comma: bool = False,
    ) -> None:
        self._device_id = device_id
        self._zone = local_zone or gateway_zone()
        self._decimal_comma = decimal_comma
        self._configured = dialect
        self._code_map = code_map
        self._peer = peer
        self._current: str | None = None
        self._warned_tie = False
        self._warned_ambiguous = False

    def __call__(self, message: Message) -> list[CanonicalEvent]:
        name = self._dialect_of(message)
        events: list[CanonicalEvent] = list(
            lab_results_from_hl7(
                message,
                self._code_map,
                self._device_id,
                dialect=load_hl7_dialect(name),
                local_zone=self._zone,
                decimal_comma=self._decimal_comma,
            )
        )
        ambiguous = [e for e in events if isinstance(e, QcResult) and e.ambiguous]
        if ambiguous and not self._warned_ambiguous:
            self._warned_ambiguous = True
            log.warning(
                "device %s: a result sent as qc_result, not lab_result, on the safe side "
                "(marks: %s; dialect %s); set the device's dialect if this is wrong",
                self._device_id,
                ", ".join(ambiguous[0].evidence),
                name,
            )
        return events

    def _dialect_of(self, message: Message) -> str:
        name = self._configured
        if name == AUTO:
            found = matching_dialects(msh_fields(message.msh))
            name = found[0] if len(found) == 1 else GENERIC
            if len(found) > 1 and not self._warned_tie:
                self._warned_tie = True
                log.warning(
                    "device %s (%s): MSH fits HL7 dialects %s; reading as generic: set dialect",
                    self._device_id,
                    self._peer,
                    ", ".join(found),
                )
        if name != self._current:
            self._current = name
            how = "auto-matched" if self._configured == AUTO and name != GENERIC else "using"
            log.info("device %s (%s): %s HL7 dialect %s", self._device_id, self._peer, how, name)
        return name
