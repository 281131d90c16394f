"""The checker itself must be able to fail: losses, duplicates and gaps are all reported."""

from __future__ import annotations

from typing import Any

from tests.reliability.accounting import account


def envelope(id_: str, device: str, seq: int, specimen: str) -> dict[str, Any]:
    payload = {"kind": "lab_result", "specimen_id": specimen, "observations": []}
    return {"id": id_, "device_id": device, "seq": seq, "payload": payload}


def test_everything_acked_arrived_once() -> None:
    result = account(
        {"a": ["S1", "S2"]}, [envelope("1", "a", 1, "S1"), envelope("2", "a", 2, "S2")]
    )
    assert (result.lost, result.duplicates, result.gaps) == ({}, 0, {})
    assert result.report() == "acked 2, received 2, lost 0, duplicates 0, sequence gaps 0"


def test_a_loss_a_duplicate_and_a_gap_are_each_reported() -> None:
    got = [envelope("1", "a", 1, "S1"), envelope("1", "a", 1, "S1"), envelope("3", "a", 3, "S3")]
    result = account({"a": ["S1", "S2", "S3"], "b": ["T1"]}, got)
    assert result.lost == {"a": {"S2"}, "b": {"T1"}}
    assert result.lost_total == 2
    assert result.duplicates == 1
    assert result.gaps == {"a": 1}


def test_arrivals_nobody_was_acked_for_are_not_losses() -> None:
    # A message stored but whose ACK was lost (the device resends it) arrives without an ack.
    result = account({"a": ["S1"]}, [envelope("1", "a", 1, "S1"), envelope("2", "a", 2, "S9")])
    assert result.lost == {}
