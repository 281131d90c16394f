"""Per connection: the dialect each ASTM message is read with, and what the log says of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.astm import dialect as dialect_module
from adapters.lis_analyzers.astm_dialect_choice import ConnectionDialects

LOGGER = "adapters.lis_analyzers.astm_dialect_choice"
BC = ["H", "\\^&", "", "", "Mindray^BC-6800^", "", "", "", "", "", "", "PR", "LIS2-A2"]
UNKNOWN = ["H", "\\^&", "", "", "Acme^AX-9^1"]


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_auto_logs_each_choice_once_per_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    first = ConnectionDialects("bc-1", "auto", "10.0.0.5:4001")
    chosen = [first.dialect_for(h).name for h in (BC, BC, UNKNOWN, BC, UNKNOWN)]
    assert chosen == ["mindray-bc", "mindray-bc", "generic", "mindray-bc", "generic"]
    assert said(caplog) == [
        (
            "INFO",
            "device bc-1: ASTM dialect mindray-bc (auto: only its match rules fit the H record)"
            " on 10.0.0.5:4001",
        ),
        (
            "WARNING",
            "device bc-1: no ASTM dialect's match rules fit the H record: read as generic on "
            "10.0.0.5:4001; set the device's dialect if results arrive incomplete",
        ),
    ]
    caplog.clear()
    ConnectionDialects("bc-1", "auto", "10.0.0.5:4002").dialect_for(BC)  # a new connection
    assert [level for level, _ in said(caplog)] == ["INFO"]


def test_a_configured_dialect_is_used_as_is_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    dialects = ConnectionDialects("bc-1", "mindray-cl", "serial")
    assert {dialects.dialect_for(h).name for h in (BC, UNKNOWN)} == {"mindray-cl"}
    assert said(caplog) == [("INFO", "device bc-1: ASTM dialect mindray-cl (configured) on serial")]


@pytest.fixture
def overlapping_dialects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, pattern in (("vendor_a", "^Mindray\\\\^"), ("vendor_b", "\\\\^BC-")):
        (tmp_path / f"{name}.toml").write_text(
            f'# test\ndescription = "{name}"\nmatch = {{ 5 = "{pattern}" }}\n', encoding="utf-8"
        )
    (tmp_path / "generic.toml").write_text('# test\ndescription = "g"\n', encoding="utf-8")
    monkeypatch.setattr(dialect_module, "DIALECTS_DIR", tmp_path)
    dialect_module.load_dialect.cache_clear()
    yield
    dialect_module.load_dialect.cache_clear()


@pytest.mark.usefixtures("overlapping_dialects")
def test_several_fitting_dialects_fall_back_to_generic_naming_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dialects = ConnectionDialects("bc-1", "auto", "10.0.0.5:4001")
    assert dialects.dialect_for(BC).name == "generic"
    assert dialects.dialect_for(BC).name == "generic"
    assert said(caplog) == [
        (
            "WARNING",
            "device bc-1: the H record fits several ASTM dialects (vendor-a, vendor-b): read as "
            "generic on 10.0.0.5:4001; set the device's dialect",
        )
    ]
