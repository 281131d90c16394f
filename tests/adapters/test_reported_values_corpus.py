"""Every corpus message still decodes, and every value in it is carried as reported (issue 12).

For each HL7 and ASTM file of the shared corpus (when checked out) and of tests/corpus: every
observation with a 1.0 ``value`` has a ``reported`` reading; a reading that is a number agrees
with the 1.0 float; and the reported text is in the device's bytes as sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.astm.dialect import load_dialect, match_dialect
from adapters.astm.records import parse_transmission
from adapters.canonical.codes import Observation, ValueKind
from adapters.canonical.events import Alarm, CanonicalEvent, LabResult, QcResult, VitalSigns
from adapters.codemap import CodeMap
from adapters.hl7.dialect import load_hl7_dialect, match_hl7_dialect, msh_fields
from adapters.hl7.errors import Hl7ParseError
from adapters.hl7.escape import unescape
from adapters.hl7.parse import parse_message
from adapters.lis_analyzers.astm_results import lab_results_from_astm
from adapters.lis_analyzers.hl7_results import lab_results_from_hl7
from adapters.monitors.pcd import monitor_events_from_hl7
from tests.hardware_sim.astm_transcripts import messages_in_file as astm_messages
from tests.hardware_sim.hl7_sender import messages_in_file as hl7_messages

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "corpus"
LOCAL = REPO / "tests" / "corpus"


def files(pattern: str) -> list[Path]:
    shared = sorted(SHARED.glob(pattern)) if SHARED.is_dir() else []
    return shared + sorted(LOCAL.rglob(pattern))


def check(observation: Observation, sent: str) -> None:
    reported = observation.reported
    if observation.value is None:
        return
    assert reported is not None, observation.local_code
    assert reported.text
    if reported.kind is ValueKind.NUMBER:
        assert reported.decimal is not None
        if isinstance(observation.value, float) and reported.comparator is None:
            assert float(reported.decimal) == observation.value
    # The reported text came from the device: each component is in the text as sent.
    for part in reported.text.replace("~", "^").split("^"):
        assert part.strip() in sent, part


@pytest.mark.parametrize("path", files("*.hl7") + files("hl7_*.bin"), ids=lambda p: p.name)
def test_every_hl7_corpus_value_is_carried_as_reported(path: Path) -> None:
    for raw in hl7_messages(path):
        try:
            message, encoding = parse_message(raw), "utf-8"
        except Hl7ParseError:  # the legacy Vietnamese samples: a device configured for cp1258
            message, encoding = (
                parse_message(raw, default_encoding="cp1258", trust_msh18=False),
                "cp1258",
            )
        sent = unescape(raw.decode(encoding), message.delimiters)
        # read with the dialect the gateway's auto match picks (Mindray BS QC sits in OBR)
        dialect = load_hl7_dialect(match_hl7_dialect(msh_fields(message.msh)))
        events: list[CanonicalEvent] = [
            *lab_results_from_hl7(message, CodeMap.empty(), "x", dialect=dialect)
        ]
        events += monitor_events_from_hl7(message)
        for event in events:
            if isinstance(event, LabResult | QcResult | VitalSigns):  # controls too
                for observation in event.observations:
                    check(observation, sent)
            elif isinstance(event, Alarm) and event.value is not None:
                assert event.reported is not None


@pytest.mark.parametrize(
    "path",
    files("astm_*.astm") + files("astm_*.bin") + files("*_synthetic.astm"),
    ids=lambda p: p.name,
)
def test_every_astm_corpus_value_is_carried_as_reported(path: Path) -> None:
    for records in astm_messages(path):
        if not records[0].lstrip(b"0123456789").startswith(b"H"):
            continue  # python-astm's codec vectors: frames, not E1394 messages
        for message in parse_transmission(records):
            dialect = load_dialect(match_dialect(message.header.record.fields) or "generic")
            for result in lab_results_from_astm(message, CodeMap.empty(), "x", dialect):
                for observation in result.observations:
                    check(observation, b"\r".join(records).decode("utf-8", "replace"))
