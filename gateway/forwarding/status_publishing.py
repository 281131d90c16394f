"""Publishing the retained ``device/{id}/status`` topics so that they never go stale.

A change of state goes out at once; a device whose counts moved goes out at the next counts tick;
every device goes out at each refresh, changed or not (see :mod:`gateway.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiomqtt

from gateway.forwarding.topics import Topics
from gateway.status import StatusBoard


async def publish_statuses(client: aiomqtt.Client, topics: Topics, status: StatusBoard) -> None:
    """Publish device statuses for as long as the session lasts (cancelled with it)."""
    now = time.monotonic()
    counts_due, refresh_due = now + status.counts_every_s, now + status.refresh_every_s
    while True:
        due = status.take_changed()
        now = time.monotonic()
        if now >= refresh_due:
            due = status.device_ids
            status.take_counted()
            refresh_due = now + status.refresh_every_s
            counts_due = now + status.counts_every_s
        elif now >= counts_due:
            due = sorted({*due, *status.take_counted()})
            counts_due = now + status.counts_every_s
        for device_id in due:
            payload = status.snapshot(device_id).model_dump_json(exclude_none=True)
            await client.publish(topics.device_status(device_id), payload, 1, True)
        wait_s = max(0.0, min(counts_due, refresh_due) - time.monotonic())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await status.changed.wait()
