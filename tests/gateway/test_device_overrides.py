"""The runtime enable/disable overlay beside the store: ``device-overrides.json``.

It is written atomically and privately, wins over the TOML's ``enabled``, and a file that cannot
be used (garbage, too large, wrong types) is ignored with a warning, never a crash.
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.config.inventory import DeviceSettings
from gateway.devices.overrides import MAX_BYTES, OVERRIDES_FILE, DeviceOverrides, disabled_names

INVENTORY = [
    DeviceSettings(id="a", kind="serial-scanner", connection="listen://127.0.0.1:7001"),
    DeviceSettings(
        id="b", kind="serial-scanner", connection="listen://127.0.0.1:7002", enabled=False
    ),
]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)
NOT_A_FILE = [HealthCheck.function_scoped_fixture]


def test_a_recorded_state_is_read_back_and_the_file_is_private(tmp_path: Path) -> None:
    overrides = DeviceOverrides.beside(tmp_path / "store" / "outbox.db")
    overrides.record("a", False)
    overrides.record("b", True)

    assert overrides.path == tmp_path / "store" / OVERRIDES_FILE
    assert DeviceOverrides(overrides.path).load() == {"a": False, "b": True}
    assert stat.S_IMODE(overrides.path.stat().st_mode) == 0o600
    assert [p.name for p in overrides.path.parent.iterdir()] == [OVERRIDES_FILE]
    assert json.loads(overrides.path.read_text()) == {"devices": {"a": False, "b": True}}


def test_the_overlay_wins_over_the_toml(tmp_path: Path) -> None:
    overrides = DeviceOverrides(tmp_path / OVERRIDES_FILE)
    overrides.record("a", False)
    overrides.record("b", True)
    overrides.record("gone", True)  # a device no longer in the TOML is simply not applied

    applied = overrides.apply(INVENTORY)

    assert [(d.id, d.enabled) for d in applied] == [("a", False), ("b", True)]
    assert applied[0].connection == INVENTORY[0].connection


def test_without_a_file_the_toml_alone_decides(tmp_path: Path) -> None:
    assert DeviceOverrides(tmp_path / OVERRIDES_FILE).apply(INVENTORY) == INVENTORY


def test_the_start_line_names_the_disabled_devices() -> None:
    assert disabled_names(INVENTORY) == " (disabled: b)"
    assert disabled_names(INVENTORY[:1]) == ""


def test_a_huge_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / OVERRIDES_FILE
    path.write_text(json.dumps({"devices": {"a": False}, "pad": "x" * MAX_BYTES}))

    with caplog.at_level(logging.WARNING):
        assert DeviceOverrides(path).apply(INVENTORY) == INVENTORY
    assert f"is larger than {MAX_BYTES} bytes; ignoring it" in caplog.text


def test_entries_of_the_wrong_type_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / OVERRIDES_FILE
    path.write_text(json.dumps({"devices": {"a": "no", "b": True, "c": 0}}))

    with caplog.at_level(logging.WARNING):
        assert DeviceOverrides(path).load() == {"b": True}
    assert "ignored 2 entries that are not true or false" in caplog.text


def test_a_directory_in_its_place_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / OVERRIDES_FILE).mkdir()

    with caplog.at_level(logging.WARNING):
        assert DeviceOverrides(tmp_path / OVERRIDES_FILE).load() == {}
    assert "cannot be read" in caplog.text


def test_recording_replaces_an_unusable_file(tmp_path: Path) -> None:
    path = tmp_path / OVERRIDES_FILE
    path.write_bytes(b"\xff\x00garbage")

    DeviceOverrides(path).record("a", False)

    assert DeviceOverrides(path).load() == {"a": False}


@settings(max_examples=200, suppress_health_check=NOT_A_FILE)
@given(raw=st.binary(max_size=512))
def test_any_bytes_give_a_mapping_or_nothing_never_a_crash(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / OVERRIDES_FILE
    path.write_bytes(raw)

    loaded = DeviceOverrides(path).load()

    assert all(isinstance(k, str) and isinstance(v, bool) for k, v in loaded.items())
    applied = DeviceOverrides(path).apply(INVENTORY)
    assert [d.id for d in applied] == ["a", "b"]


@settings(max_examples=200, suppress_health_check=NOT_A_FILE)
@given(value=JSON, devices=st.dictionaries(st.text(max_size=10), JSON, max_size=5))
def test_any_json_keeps_exactly_its_boolean_entries(
    tmp_path: Path, value: object, devices: dict[str, object]
) -> None:
    assume(not (isinstance(value, dict) and "devices" in value))
    path = tmp_path / OVERRIDES_FILE
    path.write_text(json.dumps(value))
    assert DeviceOverrides(path).load() == {}

    path.write_text(json.dumps({"devices": devices}))
    expected = {k: v for k, v in devices.items() if isinstance(v, bool)}
    assert DeviceOverrides(path).load() == expected
