"""Command line of the fault proxy; usage and commands in :mod:`~.fault_proxy`'s docstring.

Kept apart so the proxy module stays a readable API; ``python -m tests.hardware_sim.fault_proxy``
runs :func:`main`. Faults given as options apply from the start; commands typed on stdin switch
them at run time, and each is answered with the proxy's status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from tests.hardware_sim import fault_proxy
from tests.hardware_sim.cli_name import prog
from tests.hardware_sim.fault_proxy import FaultProxy
from tests.hardware_sim.fault_proxy_link import Direction


async def _command(proxy: FaultProxy, words: list[str]) -> str | None:
    """Apply one command line; an error message, or ``None``."""
    match words:
        case ["cut" | "fin" as how]:
            return f"closed {proxy.cut(reset=how == 'cut')} connection(s)"
        case ["blackhole", "on" | "off" as on]:
            proxy.set_blackhole(on == "on")
        case ["latency", ms, *side] if side in ([], ["up"], ["down"]):
            proxy.latency(float(ms) / 1000, _direction(side[0]) if side else None)
        case ["bandwidth", rate]:
            proxy.bandwidth(None if rate == "off" else int(rate))
        case ["pause" | "resume" as verb, "up" | "down" as side]:
            (proxy.pause if verb == "pause" else proxy.resume)(_direction(side))
        case ["refuse", "on" | "off" as on]:
            await proxy.refuse(on == "on")
        case ["heal"]:
            await proxy.heal()
        case [] | ["status"]:
            pass
        case _:
            return f"unknown command: {' '.join(words)}"
    return None


def _direction(word: str) -> Direction:
    return "up" if word == "up" else "down"


async def _commands(proxy: FaultProxy) -> None:
    while line := await asyncio.to_thread(sys.stdin.readline):
        try:
            said = await _command(proxy, line.split())
        except ValueError as exc:
            said = f"bad value: {exc}"
        if said:
            print(said)
        print(proxy.status(), flush=True)
    await asyncio.Future()  # stdin closed (running in the background): keep proxying


async def _main(args: argparse.Namespace) -> None:
    host, _, port = args.listen.rpartition(":")
    up_host, _, up_port = args.upstream.rpartition(":")
    async with FaultProxy(int(port), up_host, int(up_port), host=host or "127.0.0.1") as proxy:
        proxy.latency(args.latency_ms / 1000)
        proxy.bandwidth(args.bandwidth)
        proxy.set_blackhole(args.blackhole)
        await proxy.refuse(args.refuse)
        print(f"proxying {proxy.host}:{proxy.port} -> {args.upstream}; {proxy.status()}")
        await _commands(proxy)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog=prog("python -m tests.hardware_sim.fault_proxy"),
        description=fault_proxy.__doc__.splitlines()[0],
    )
    parser.add_argument("--listen", required=True, metavar="[HOST:]PORT")
    parser.add_argument("--upstream", required=True, metavar="HOST:PORT")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="each direction")
    parser.add_argument("--bandwidth", type=int, default=None, metavar="BYTES_PER_S")
    parser.add_argument("--blackhole", action="store_true", help="start half-open")
    parser.add_argument("--refuse", action="store_true", help="start refusing connections")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
