"""Cancel the gateway's tasks and wait for them, but never forever.

Python 3.11's ``asyncio.wait_for`` (used by aiomqtt's ``publish``) swallows a cancellation that
arrives as the awaited operation completes; the forwarder's status task then went back to
waiting, the session's join waited on it forever, nothing was published again and SIGTERM no
longer stopped the process (issue 11, defect 1). So a join cancels again while it waits, gives
up after a timeout, and a task still running then is left behind, logged, counted, and reported
by liveness until the process restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from gateway.metrics import Metrics

log = logging.getLogger("wardlink.tasks")

RECANCEL_EVERY_S = 0.5


class TaskJoins:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._left_behind: set[asyncio.Task[Any]] = set()
        metrics.tasks_stuck.set_function(self.stuck)

    def stuck(self) -> int:
        """Tasks left behind that still run."""
        self._left_behind = {task for task in self._left_behind if not task.done()}
        return len(self._left_behind)

    def stuck_names(self) -> list[str]:
        self.stuck()
        return sorted(task.get_name() for task in self._left_behind)

    async def cancel_and_join(self, tasks: Iterable[asyncio.Task[Any]], timeout_s: float) -> bool:
        """Cancel ``tasks``, wait up to ``timeout_s`` for them; ``False`` if one is left behind."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pending = {task for task in tasks if not task.done()}
        while pending:
            for task in pending:
                task.cancel()  # again: a task may have swallowed the previous one
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_EVERY_S, remaining))
        for task in pending:
            name = task.get_name()
            log.error("task %s still ran %.0f s after cancellation; left behind", name, timeout_s)
            # The label is the task's role (device runners share one), never an open-ended name.
            self._metrics.task_join_timeouts.labels(task=name.partition(":")[0]).inc()
            self._left_behind.add(task)
        return not pending
