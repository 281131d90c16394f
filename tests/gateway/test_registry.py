"""The device-kind table: lazy, consistent, and complete for each registered kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.connection_url import PLANNED_SCHEMES, SUPPORTED_SCHEMES
from gateway.registry import DEVICE_KINDS, options_model_of, resolve


def test_serial_scanner_is_registered():
    spec = DEVICE_KINDS["serial-scanner"]
    assert spec.options_model == "adapters.scanners.kind:ScannerOptions"
    assert spec.runner == "gateway.devices.run:run_device"
    assert spec.schemes == ("serial", "tcp", "listen")
    assert spec.allowed_dialects == ("generic",)


def test_table_is_read_only():
    with pytest.raises(TypeError):
        DEVICE_KINDS["x"] = DEVICE_KINDS["serial-scanner"]  # type: ignore[index]


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_kind_uses_known_schemes_and_allows_generic(kind):
    spec = DEVICE_KINDS[kind]
    assert set(spec.schemes) <= {*SUPPORTED_SCHEMES, *PLANNED_SCHEMES}
    assert spec.allowed_dialects[0] == "generic"


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_options_model_forbids_unknown_keys(kind):
    pytest.importorskip(DEVICE_KINDS[kind].options_model.partition(":")[0])
    model = options_model_of(kind)
    assert issubclass(model, BaseModel)
    assert model.model_config.get("extra") == "forbid"
    model.model_validate({})  # every option has a default


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_every_runner_resolves(kind):
    pytest.importorskip(DEVICE_KINDS[kind].runner.partition(":")[0])
    assert callable(resolve(DEVICE_KINDS[kind].runner))


def test_resolve_rejects_malformed_and_missing_names():
    with pytest.raises(ImportError, match="not of the form"):
        resolve("gateway.registry")
    with pytest.raises(ImportError, match="has no attribute 'nope'"):
        resolve("gateway.registry:nope")
    assert resolve("gateway.registry:DEVICE_KINDS") is DEVICE_KINDS


def test_every_kinds_sample_entry_validates(tmp_path) -> None:
    """Each kind's annotated sample, pasted into a config, passes `wardlink config check`."""
    from gateway.config_check import check_config_file  # noqa: PLC0415
    from gateway.registry import DEVICE_KINDS  # noqa: PLC0415

    repo = Path(__file__).resolve().parents[2]
    for kind, spec in DEVICE_KINDS.items():
        sample = (repo / spec.sample_config).read_text(encoding="utf-8")
        config = tmp_path / f"{kind}.toml"
        config.write_text(
            'config_version = 1\n[gateway]\nsite = "s"\nward = "w"\nid = "g"\n' + sample,
            encoding="utf-8",
        )
        assert check_config_file(config) == [], kind
