"""``wardlink run`` whose forwarder status task ignores every cancellation (a test's fault).

Stands for a task that swallows ``CancelledError`` (Python 3.11's ``asyncio.wait_for`` does so
when the awaited operation completes as the cancellation arrives): SIGTERM must still stop it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from gateway.cli import main
from gateway.forwarding.forwarder import Forwarder

STUBBORN = {"on": True}
"""An in-process test turns this off to let the task end before its event loop closes."""


async def ignore_every_cancellation(_forwarder: Forwarder, _client: Any) -> None:
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if not STUBBORN["on"]:
                raise


if __name__ == "__main__":
    Forwarder._publish_statuses = ignore_every_cancellation  # type: ignore[method-assign,assignment]
    sys.exit(main(sys.argv[1:]))
