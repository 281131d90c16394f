"""The ASTM analyzer simulator listening for a gateway that dials it (``tcp://`` in its config).

Kept apart from :mod:`~.astm_analyzer`, which makes one with
:meth:`~.astm_analyzer.AnalyzerSimulator.serve`: each accepted connection gets its own
simulator, and leaving the server closes them all, so a test leaks no pump task.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from drivers import tcp
from drivers.base import ByteStream

if TYPE_CHECKING:
    from tests.hardware_sim.astm_analyzer import AnalyzerSimulator


class AnalyzerServer:
    """The analyzer listening for the gateway; closes its simulators when left."""

    def __init__(
        self, host: str, port: int, simulate: Callable[[ByteStream], AnalyzerSimulator]
    ) -> None:
        self._listener = tcp.listen(host, port)
        self._simulate = simulate
        self._simulators: list[AnalyzerSimulator] = []

    @property
    def port(self) -> int:
        return self._listener.port

    async def accepted(self) -> AnalyzerSimulator:
        """Wait for the gateway to connect; the simulator on that connection."""
        simulator = self._simulate(await anext(aiter(self._listener)))
        self._simulators.append(simulator)
        return simulator

    async def __aenter__(self) -> Self:
        await self._listener.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for simulator in self._simulators:
            await simulator.close()
        await self._listener.__aexit__(exc_type, exc, tb)
