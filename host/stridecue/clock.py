"""Time for the host's waiting: back-off, reply timeouts, pacing.

The link never calls time.monotonic() or asyncio.sleep() directly; it asks a Clock, so an
accelerated simulation can run the very same code with its own time (see sim.air.SimClock).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def wait_for(clock: Clock, awaitable, timeout: float):
    """asyncio.wait_for with the timeout measured on the given clock."""
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        done, _ = await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        raise asyncio.TimeoutError()
    finally:
        timer.cancel()
