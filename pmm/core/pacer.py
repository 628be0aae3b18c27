"""Real-time pacing: wait for the next event or the next timer, whichever comes first.

Here in `core` because both sides use it: the engine owns the `WakeEvent` it sets on every event,
and a live venue's connector brings the `RealTimePacer` (connectors never import the engine).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from pmm.core.clock import Clock


class WakeSignal(Protocol):
    """What a pacer may do with the engine's wake-up flag."""

    def is_set(self) -> bool: ...
    async def wait(self) -> bool: ...
    def clear(self) -> None: ...


class WakeEvent(asyncio.Event):
    """Set by `emit` whenever an event lands in the engine's inbox."""


class RealTimePacer:
    virtual = False

    def finished(self) -> bool:
        return False  # a live market always has a next event

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def wait(self, deadline: float | None, wake: WakeSignal) -> None:
        if wake.is_set():
            return
        timeout = None if deadline is None else max(0.0, deadline - self._clock.now())
        try:
            await asyncio.wait_for(wake.wait(), timeout)
        except TimeoutError:
            pass
