"""Drives the simulated exchange's time from the engine loop.

`--fast`: a virtual clock jumps straight to the next thing that can happen (a market step, an
order arriving, a funding time, or an engine timer), so a simulated day runs in seconds and the
same seed gives the same run. Otherwise the simulated market advances with the wall clock.

A fast step does not go through the event loop: a loop iteration (an `epoll` call and the task
machinery) cost more than a whole step on a replay. The pacer yields to the loop once every
`FAST_STEPS_PER_YIELD` steps, so signal handlers and the live view still run within a few
milliseconds. The engine's own gateway calls do not depend on it: the engine waits for them
before virtual time moves (`Engine._step`), whatever the pacer does.
"""

from __future__ import annotations

import asyncio

from pmm.core.clock import Clock, VirtualClock
from pmm.core.pacer import WakeSignal
from pmm.sim.exchange import SimExchange

FAST_STEPS_PER_YIELD = 64  # about a millisecond of replay steps between two loop iterations


class SimPacer:
    def __init__(self, exchange: SimExchange, clock: Clock, fast: bool) -> None:
        self._exchange = exchange
        self._clock = clock
        self.virtual = fast
        self._steps_since_yield = 0
        if fast and not isinstance(clock, VirtualClock):
            raise TypeError("a fast simulation needs a VirtualClock")

    def finished(self) -> bool:
        """True when the simulated market will never produce another event (a replay ended).

        Requests in flight and funding settlements do not count: they are the venue answering,
        not the market moving.
        """
        return self._exchange.markets_exhausted()

    async def wait(self, deadline: float | None, wake: WakeSignal) -> None:
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
            self._steps_since_yield += 1
            if self._steps_since_yield >= FAST_STEPS_PER_YIELD:
                self._steps_since_yield = 0
                await asyncio.sleep(0)
            return
        timeout = None if target is None else max(0.0, target - self._clock.now())
        try:
            await asyncio.wait_for(wake.wait(), timeout)
        except TimeoutError:
            pass
        self._exchange.advance_to(self._clock.now())
