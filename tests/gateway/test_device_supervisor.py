"""The per-device supervisor with stand-in runners: what stop, start and restart guarantee.

A real gateway with real devices and a broker is in tests/e2e/test_device_supervisor.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.canonical.events import DeviceState
from drivers.backoff import Backoff
from gateway.config.inventory import DeviceSettings
from gateway.devices.intake import Intake
from gateway.devices.supervisor import DeviceSupervisor, RunState
from gateway.devices.supervisor_errors import SupervisorClosedError, UnknownDeviceError
from gateway.metrics import Metrics
from gateway.status import StatusBoard
from gateway.task_joins import TaskJoins

INVENTORY = [
    DeviceSettings(id="a", kind="serial-scanner", connection="listen://127.0.0.1:7001"),
    DeviceSettings(id="b", kind="serial-scanner", connection="listen://127.0.0.1:7002"),
    DeviceSettings(
        id="off", kind="serial-scanner", connection="listen://127.0.0.1:7003", enabled=False
    ),
]


class StandInRunners:
    """Runners that hold their device until cancelled and release it in ``finally``.

    The release awaits, as closing a socket does, so a stop that did not wait for it would
    still see the device held.
    """

    def __init__(self) -> None:
        self.held: Counter[str] = Counter()
        self.most_held: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.failures: dict[str, list[str]] = {}

    async def run(self, device: DeviceSettings, _intake: Intake) -> None:
        self.runs[device.id] += 1
        self.held[device.id] += 1
        self.most_held[device.id] = max(self.most_held[device.id], self.held[device.id])
        try:
            pending = self.failures.get(device.id)
            if pending:
                raise RuntimeError(pending.pop(0))
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            self.held[device.id] -= 1


class Rig:
    def __init__(self, runners: StandInRunners, **options: Any) -> None:
        self.metrics = Metrics()
        self.status = StatusBoard(self.metrics)
        for device in INVENTORY:
            self.status.add_device(device.id, enabled=device.enabled)
        self.tasks = TaskJoins(self.metrics)
        self.supervisor = DeviceSupervisor(
            INVENTORY,
            cast(Intake, object()),
            self.status,
            self.tasks,
            run=options.pop("run", runners.run),
            backoff=lambda: Backoff(minimum=0.01, maximum=0.01),
            **options,
        )

    def metric(self, name: str, device: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, {"device": device})


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def test_start_all_runs_the_enabled_devices_only() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["a"] == runners.held["b"] == 1, "both running")
    views = {view.id: view for view in rig.supervisor.snapshot()}
    assert [view.id for view in rig.supervisor.snapshot()] == ["a", "b", "off"]
    assert views["a"].run_state is RunState.RUNNING
    assert views["a"].started_at is not None
    assert (views["off"].run_state, views["off"].link, views["off"].enabled) == (
        RunState.STOPPED,
        DeviceState.DISABLED,
        False,
    )
    assert runners.runs["off"] == 0
    assert rig.metric("wardlink_device_enabled", "off") == 0
    assert rig.metric("wardlink_device_enabled", "a") == 1
    await rig.supervisor.stop_all()


async def test_stop_returns_once_the_device_is_released_and_leaves_the_others() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["a"] == runners.held["b"] == 1, "both running")

    assert await rig.supervisor.stop("a") is True

    assert runners.held["a"] == 0
    assert (runners.held["b"], runners.runs["b"]) == (1, 1)
    view = rig.supervisor.state("a")
    assert (view.run_state, view.link, view.detail, view.started_at) == (
        RunState.STOPPED,
        DeviceState.DISABLED,
        "stopped",
        None,
    )
    assert rig.status.snapshot("a").state is DeviceState.DISABLED
    assert rig.metric("wardlink_device_enabled", "a") == 0
    assert rig.metric("wardlink_device_connected", "a") == 0
    assert rig.supervisor.state("b").run_state is RunState.RUNNING
    await rig.supervisor.stop_all()


async def test_stopping_twice_is_harmless() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start("a")
    await until(lambda: runners.held["a"] == 1, "running")
    await rig.supervisor.stop("a")
    rig.status.take_changed()

    assert await rig.supervisor.stop("a") is True
    assert await rig.supervisor.stop("off") is True  # never started

    assert rig.status.take_changed() == []
    assert rig.supervisor.state("a").run_state is RunState.STOPPED
    assert runners.runs["a"] == 1


async def test_start_after_stop_runs_the_device_again() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start("a")
    await until(lambda: runners.held["a"] == 1, "running")
    await rig.supervisor.stop("a")
    await rig.supervisor.start("a")
    await rig.supervisor.start("a")  # already running: nothing more

    await until(lambda: runners.held["a"] == 1, "running again")
    view = rig.supervisor.state("a")
    assert (view.run_state, view.link, view.detail) == (
        RunState.RUNNING,
        DeviceState.DISCONNECTED,
        "starting",
    )
    assert (view.starts, runners.runs["a"]) == (2, 2)
    assert rig.metric("wardlink_device_enabled", "a") == 1
    await rig.supervisor.stop_all()


async def test_a_device_disabled_in_the_configuration_can_be_started() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start("off")
    await until(lambda: runners.held["off"] == 1, "started")
    assert rig.supervisor.state("off").link is DeviceState.DISCONNECTED
    assert rig.metric("wardlink_device_enabled", "off") == 1
    await rig.supervisor.stop_all()


async def test_restart_runs_a_new_runner_and_counts_it() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["a"] == runners.held["b"] == 1, "both running")

    assert await rig.supervisor.restart("a") is True
    await until(lambda: runners.runs["a"] == 2 and runners.held["a"] == 1, "second run")
    assert await rig.supervisor.restart("a") is True

    await until(lambda: runners.runs["a"] == 3 and runners.held["a"] == 1, "third run")
    assert runners.most_held["a"] == 1  # never two runners for one device
    assert rig.supervisor.state("a").starts == 3
    assert rig.supervisor.state("a").restarts == 0  # no failure
    assert (runners.runs["b"], rig.supervisor.state("b").starts) == (1, 1)
    await rig.supervisor.stop_all()


async def test_a_failing_runner_is_reported_and_started_again() -> None:
    runners = StandInRunners()
    runners.failures["a"] = ["port 7001 in use", "port 7001 still in use"]
    rig = Rig(runners)
    await rig.supervisor.start("a")

    await until(lambda: runners.runs["a"] == 3 and runners.held["a"] == 1, "third run")

    view = rig.supervisor.state("a")
    assert (view.run_state, view.link, view.restarts, view.starts, view.errors_total) == (
        RunState.RUNNING,
        DeviceState.ERROR,
        2,
        1,
        2,
    )
    assert view.last_error is not None
    assert view.last_error.text == "runner failed: port 7001 still in use"
    assert view.detail == "runner failed: port 7001 still in use"
    await rig.supervisor.stop_all()


async def test_a_runner_that_ignores_cancellation_is_left_behind_within_the_bound() -> None:
    begun, release = asyncio.Event(), asyncio.Event()

    async def stubborn(_device: DeviceSettings, _intake: Intake) -> None:
        begun.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # the bug the bound is for

    rig = Rig(StandInRunners(), run=stubborn, stop_timeout_s=0.2)
    await rig.supervisor.start("a")
    await begun.wait()

    started = time.monotonic()
    assert await rig.supervisor.stop("a") is False
    assert time.monotonic() - started < 5
    assert rig.tasks.stuck_names() == ["device:a"]
    assert rig.metrics.registry.get_sample_value(
        "wardlink_task_join_timeouts_total", {"task": "device"}
    )
    assert rig.supervisor.state("a").run_state is RunState.STOPPED
    release.set()
    await until(lambda: rig.tasks.stuck() == 0, "stubborn runner ended")


async def test_an_unknown_id_is_refused_by_name() -> None:
    rig = Rig(StandInRunners())
    for operation in (rig.supervisor.start, rig.supervisor.stop, rig.supervisor.restart):
        with pytest.raises(UnknownDeviceError, match=r"no device 'nope' .*known: a, b, off"):
            await operation("nope")
    with pytest.raises(UnknownDeviceError):
        rig.supervisor.state("nope")


async def test_a_hostile_id_gives_a_short_error() -> None:
    rig = Rig(StandInRunners())
    hostile = "../a\r\n\x00" + "x" * 100_000
    with pytest.raises(UnknownDeviceError) as refused:
        await rig.supervisor.stop(hostile)
    assert len(str(refused.value)) < 200
    assert "\r" not in str(refused.value)
    assert refused.value.device_id == hostile


async def test_no_device_starts_once_stop_all_ran() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start_all()
    await until(lambda: runners.held["a"] == 1, "running")
    rig.status.report_state("a", DeviceState.CONNECTED, "peer")

    assert await rig.supervisor.stop_all() is True

    assert runners.held.total() == 0
    # The gateway stops, not the device: its status stays as it was for the last publish.
    assert rig.status.snapshot("a").state is DeviceState.CONNECTED
    with pytest.raises(SupervisorClosedError):
        await rig.supervisor.start("a")
    assert rig.supervisor.state("a").run_state is RunState.STOPPED


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["start", "stop", "restart"]), st.sampled_from(["a", "b"])),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(OPERATIONS, min_size=1, max_size=4))
def test_concurrent_operations_apply_in_arrival_order(
    batches: list[list[tuple[str, str]]],
) -> None:
    """Operations sent at once (e.g. two admins) end as the last one says, one runner at most."""

    async def scenario() -> None:
        runners = StandInRunners()
        rig = Rig(runners)
        expected = {"a": False, "b": False}
        for batch in batches:
            await asyncio.gather(*(getattr(rig.supervisor, op)(dev) for op, dev in batch))
            expected.update({dev: op != "stop" for op, dev in batch})
            await until(
                lambda: all(runners.held[d] == running for d, running in expected.items()),
                f"{expected} settled",
            )
            for device, running in expected.items():
                state = RunState.RUNNING if running else RunState.STOPPED
                assert rig.supervisor.state(device).run_state is state
        assert max(runners.most_held.values(), default=0) <= 1
        await rig.supervisor.stop_all()
        assert runners.held.total() == 0

    asyncio.run(scenario())


async def test_shutdown_waits_for_a_device_another_caller_is_stopping() -> None:
    runners = StandInRunners()
    rig = Rig(runners)
    await rig.supervisor.start("a")
    await until(lambda: runners.held["a"] == 1, "running")

    stopping = asyncio.create_task(rig.supervisor.stop("a"))
    await asyncio.sleep(0)  # the stop has taken the task and is joining it
    assert await rig.supervisor.stop_all() is True

    assert runners.held["a"] == 0
    assert await stopping is True
