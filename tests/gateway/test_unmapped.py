"""Unmapped codes from any device input: bounded, safe characters, nothing lost from the count."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gateway.unmapped import UnmappedCodes

_SAFE = re.compile(r"[A-Za-z0-9._:/*#%+?\-]*")


@given(
    st.lists(st.tuples(st.sampled_from(["dev-1", "dev-2"]), st.text(max_size=200)), max_size=300),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=40),
)
def test_any_codes_stay_bounded_and_are_all_counted(
    seen: list[tuple[str, str]], max_codes: int, max_chars: int
) -> None:
    codes = UnmappedCodes(max_codes=max_codes, max_chars=max_chars)
    for device, code in seen:
        codes.count(device, code)
    listing = codes.listing()
    for device, entry in listing.items():
        assert len(entry["codes"]) <= max_codes
        assert all(len(code) <= max_chars and _SAFE.fullmatch(code) for code in entry["codes"])
        total = sum(entry["codes"].values()) + entry["other"]
        assert total == sum(1 for d, _ in seen if d == device)
    assert set(listing) == {device for device, _ in seen}


def test_a_flood_of_huge_codes_keeps_the_first_ones_and_counts_the_rest() -> None:
    codes = UnmappedCodes(max_codes=3, max_chars=8)
    for n in range(10_000):
        codes.count("dev-1", f"{n:08d}" + "x" * 100_000)
    assert codes.listing() == {
        "dev-1": {"codes": {"00000000": 1, "00000001": 1, "00000002": 1}, "other": 9_997}
    }
