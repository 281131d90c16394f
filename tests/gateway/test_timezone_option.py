"""The ``timezone`` device option: IANA names only, one readable line when wrong."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.lis_analyzers.astm_kind import AstmAnalyzerOptions
from adapters.lis_analyzers.kind import Hl7AnalyzerOptions
from adapters.monitors.intellivue_kind import IntelliVueOptions
from adapters.monitors.kind import Hl7MonitorOptions
from adapters.zones import ZoneOptions, device_zone
from gateway.config.check import check_config_file

GATEWAY = 'config_version = 1\n[gateway]\nsite = "s"\nward = "w"\nid = "g"\n'
KINDS: list[type[ZoneOptions]] = [
    Hl7AnalyzerOptions,
    Hl7MonitorOptions,
    AstmAnalyzerOptions,
    IntelliVueOptions,
]


def config(tmp_path: Path, zone: str) -> Path:
    path = tmp_path / "wardlink.toml"
    path.write_text(
        GATEWAY
        + '[[devices]]\nid = "an-1"\nkind = "astm-analyzer"\n'
        'connection = "tcp://127.0.0.1:7001"\n[devices.options]\n'
        f"timezone = {zone!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    return path


def test_a_known_zone_is_accepted_and_applied(tmp_path: Path) -> None:
    assert check_config_file(config(tmp_path, "Asia/Ho_Chi_Minh")) == []
    for kind in KINDS:
        options = kind.model_validate({"timezone": "Europe/Paris"})
        zone = device_zone(options.timezone)
        assert datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=1)
        assert datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "ICT", "+07:00", "../../etc/localtime", "/etc/localtime", ""]
)
def test_an_unknown_zone_is_one_line_naming_the_key(tmp_path: Path, zone: str) -> None:
    path = config(tmp_path, zone)
    (line,) = check_config_file(path)
    assert line.startswith(f"{path}: devices[0] (id=an-1).options.timezone: ")
    assert "IANA time zone name" in line


@given(st.one_of(st.text(max_size=40), st.sampled_from(sorted(available_timezones()))))
def test_any_text_is_a_zone_or_refused(name: str) -> None:
    for kind in KINDS:
        if name in available_timezones():
            assert kind.model_validate({"timezone": name}).timezone == name
            assert device_zone(name) == ZoneInfo(name)
        else:
            with pytest.raises(ValidationError, match="IANA time zone name"):
                kind.model_validate({"timezone": name})
