"""Drives the simulated exchange's time from the engine loop.

`--fast`: a virtual clock jumps straight to the next thing that can happen (a market step, an
order arriving, a funding time, or an engine timer), so a simulated day runs in seconds and the
same seed gives the same run. Otherwise the simulated market advances with the wall clock.
"""

from __future__ import annotations

import asyncio

from pmm.core.clock import Clock, VirtualClock
from pmm.engine.pacer import WakeEvent
from pmm.sim.exchange import SimExchange


class SimPacer:
    def __init__(self, exchange: SimExchange, clock: Clock, fast: bool) -> None:
        self._exchange = exchange
        self._clock = clock
        self.virtual = fast
        if fast and not isinstance(clock, VirtualClock):
            raise TypeError("a fast simulation needs a VirtualClock")

    def finished(self) -> bool:
        """True when the simulated market will never produce another event (a replay ended).

        Requests in flight and funding settlements do not count: they are the venue answering,
        not the market moving.
        """
        return self._exchange.markets_exhausted()

    async def wait(self, deadline: float | None, wake: WakeEvent) -> None:
        if wake.is_set():
            return
        next_sim = self._exchange.next_event_time()
        candidates = [t for t in (deadline, next_sim) if t is not None]
        target = min(candidates) if candidates else None
        if self.virtual:
            if target is None:
                # Nothing can ever happen again (a finished replay and no timers): let the
                # engine notice by returning without events.
                await asyncio.sleep(0)
                return
            assert isinstance(self._clock, VirtualClock)
            self._clock.advance_to(target)
            self._exchange.advance_to(self._clock.now())
            # Yield once per step so signal handlers and the live view still run.
            await asyncio.sleep(0)
            return
        timeout = None if target is None else max(0.0, target - self._clock.now())
        try:
            await asyncio.wait_for(wake.wait(), timeout)
        except TimeoutError:
            pass
        self._exchange.advance_to(self._clock.now())
