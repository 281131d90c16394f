"""What reload and the runtime overlay ask of the supervisor: configure, remove, enable, disable.

Stand-in runners (tests/gateway/test_device_supervisor.py) hold their device until cancelled, so
"kept running" means the same run was never cancelled: its run count did not grow.
"""

from __future__ import annotations

from pathlib import Path

from adapters.canonical.events import DeviceState
from gateway.config.inventory import DeviceSettings
from gateway.devices.overrides import DeviceOverrides
from gateway.devices.supervisor import RunState
from tests.gateway.test_device_supervisor import INVENTORY, Rig, StandInRunners, until


async def test_configure_restarts_only_the_changed_device() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["a"] == runners.held["b"] == 1, "both running")

    changed = INVENTORY[1].model_copy(update={"encoding": "latin-1"})
    assert await rig.supervisor.configure(changed) is True

    await until(lambda: runners.runs["b"] == 2 and runners.held["b"] == 1, "b running again")
    assert runners.runs["a"] == 1
    assert runners.most_held["b"] == 1  # the old run ended before the new one began
    assert rig.supervisor.state("b").starts == 2
    await rig.supervisor.stop_all()


async def test_configure_adds_a_device_and_stops_one_now_disabled() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    added = DeviceSettings(id="new", kind="serial-scanner", connection="listen://127.0.0.1:7009")

    await rig.supervisor.configure(added)
    await rig.supervisor.configure(INVENTORY[0].model_copy(update={"enabled": False}))

    await until(lambda: runners.held["new"] == 1, "the added device running")
    assert rig.supervisor.ids == ["a", "b", "off", "new"]
    view = rig.supervisor.state("a")
    assert (view.run_state, view.link, view.enabled) == (
        RunState.STOPPED,
        DeviceState.DISABLED,
        False,
    )
    assert runners.held["a"] == 0
    assert rig.metric("wardlink_device_enabled", "new") == 1
    await rig.supervisor.stop_all()


async def test_remove_stops_and_forgets_the_device() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["b"] == 1, "b running")

    assert await rig.supervisor.remove("b") is True

    assert runners.held["b"] == 0
    assert rig.supervisor.ids == ["a", "off"]
    await rig.supervisor.stop_all()


async def test_enable_and_disable_persist_in_the_overlay(tmp_path: Path) -> None:
    runners = StandInRunners()
    overrides = DeviceOverrides(tmp_path / "device-overrides.json")
    rig = Rig(runners, overrides=overrides)
    await rig.supervisor.start_all()

    await rig.supervisor.enable("off")
    assert await rig.supervisor.disable("a") is True

    await until(lambda: runners.held["off"] == 1, "off running")
    assert runners.held["a"] == 0
    assert overrides.load() == {"off": True, "a": False}
    assert (rig.supervisor.state("off").enabled, rig.supervisor.state("a").enabled) == (True, False)
    await rig.supervisor.stop_all()
