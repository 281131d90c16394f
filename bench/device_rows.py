"""The device-path rows of ``make bench`` alone, for comparing two trees in one sitting.

``python -m bench.device_rows`` prints them as JSON for the tree it runs in. To judge a change,
run it from an export of the old commit (``git archive OLD | tar -x -C /tmp/old``, then
``cd /tmp/old && PYTHONPATH=. python -m bench.device_rows``) and from the new tree, back to back,
twice in alternating order: this VM's figures move between sittings more than the code does.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from bench.astm_session import session_rates
from bench.hl7 import mllp_rates
from bench.monitor_run import run_ward

ASTM_MESSAGES = 200
HL7_MESSAGES = 1000


def device_rows(work: Path) -> dict[str, object]:
    for folder in ("ward", "astm", "hl7"):
        (work / folder).mkdir()
    ward = asyncio.run(run_ward(work / "ward", 0))
    rows: dict[str, object] = {
        "30-bed ward at 1 Hz, gateway CPU %": round(ward.cpu_pct, 1),
        "30-bed ward, lost": ward.missing,
    }
    rows.update(session_rates(work / "astm", ASTM_MESSAGES))
    rows.update(mllp_rates(work / "hl7", HL7_MESSAGES))
    return rows


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="wardlink-bench-") as tmp:
        print(json.dumps(device_rows(Path(tmp)), indent=2))
