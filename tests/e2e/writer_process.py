"""A gateway process that submits events and prints each id once its commit returned.

The kill -9 test reads these lines: a printed id is one whose write "returned success", the
moment a device would have been answered positively.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from adapters.canonical.events import Identification, IdentificationSource
from gateway.config.check import load_settings
from gateway.daemon import Gateway


async def main(config: Path, count: int, concurrency: int) -> None:
    gateway = Gateway(load_settings(config))
    running = asyncio.create_task(gateway.run())
    await asyncio.sleep(0)

    async def one(i: int) -> None:
        event = Identification(source=IdentificationSource.BARCODE, data=f"SP{i:08d}")
        envelope_id = await gateway.pipeline.submit("dev-1", event)
        sys.stdout.write(envelope_id + "\n")
        sys.stdout.flush()

    for start in range(0, count, concurrency):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + concurrency))))
    gateway.stop()
    await running


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
