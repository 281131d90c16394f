"""The device-kind table: lazy, consistent, and complete for each registered kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from adapters.kind import DeviceKind
from drivers.urls import PLANNED_SCHEMES, SUPPORTED_SCHEMES
from gateway.devices.registry import DEVICE_KINDS, device_kind, options_model_of, resolve

SIMULATORS = Path(__file__).resolve().parents[1] / "hardware_sim"


def test_serial_scanner_is_registered():
    kind = device_kind("serial-scanner")
    assert DEVICE_KINDS["serial-scanner"] == "adapters.scanners.kind:KIND"
    assert kind.options_model.__name__ == "ScannerOptions"
    assert kind.schemes == ("serial", "tcp", "listen")
    assert kind.allowed_dialects == ("generic",)


def test_table_is_read_only():
    with pytest.raises(TypeError):
        DEVICE_KINDS["x"] = DEVICE_KINDS["serial-scanner"]  # type: ignore[index]


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_row_names_the_declaration_of_its_kind(kind):
    declaration = device_kind(kind)
    assert isinstance(declaration, DeviceKind)
    assert declaration.name == kind
    assert declaration.description


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_kind_uses_known_schemes_and_allows_generic(kind):
    spec = device_kind(kind)
    assert set(spec.schemes) <= {*SUPPORTED_SCHEMES, *PLANNED_SCHEMES}
    assert spec.allowed_dialects[0] == "generic"
    assert spec.default_dialect in (*spec.allowed_dialects, *spec.dialects)


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_options_model_forbids_unknown_keys(kind):
    model = options_model_of(kind)
    assert issubclass(model, BaseModel)
    assert model.model_config.get("extra") == "forbid"
    model.model_validate({})  # every option has a default


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_kinds_simulator_is_in_the_source_tree(kind):
    simulator = device_kind(kind).simulator
    assert simulator is not None, f"{kind} names no simulator"
    assert (SIMULATORS / f"{simulator.module}.py").is_file()


def test_a_row_that_names_another_kind_is_refused(monkeypatch):
    from gateway.devices import registry  # noqa: PLC0415

    monkeypatch.setitem(registry._ROWS, "pretender", "adapters.scanners.kind:KIND")
    with pytest.raises(ImportError, match="is not the DeviceKind 'pretender'"):
        device_kind("pretender")


def test_resolve_rejects_malformed_and_missing_names():
    with pytest.raises(ImportError, match="not of the form"):
        resolve("gateway.devices.registry")
    with pytest.raises(ImportError, match="has no attribute 'nope'"):
        resolve("gateway.devices.registry:nope")
    assert resolve("gateway.devices.registry:DEVICE_KINDS") is DEVICE_KINDS


def test_every_kinds_sample_entry_validates(tmp_path) -> None:
    """Each kind's annotated sample, pasted into a config, passes `wardlink config check`."""
    from gateway.config.check import check_config_file  # noqa: PLC0415
    from gateway.devices.registry import DEVICE_KINDS  # noqa: PLC0415

    for kind in DEVICE_KINDS:
        sample = device_kind(kind).sample_config.read_text(encoding="utf-8")
        config = tmp_path / f"{kind}.toml"
        config.write_text(
            'config_version = 1\n[gateway]\nsite = "s"\nward = "w"\nid = "g"\n' + sample,
            encoding="utf-8",
        )
        assert check_config_file(config) == [], kind
