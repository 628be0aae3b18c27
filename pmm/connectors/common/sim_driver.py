"""Moves the simulated exchange's time with a server's clock.

The simulated exchange only moves when told to (`advance_to`). A venue server tells it in two
places: a background task that follows the clock (so the market moves and streams flow), and every
request that must answer synchronously (venues answer an order request with its fate; the simulator
answers after `latency_s` with events), which submits, waits the latency, advances and reads the
outcome. Time never goes backwards: `sim_time` is the latest time advanced to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange

log = logging.getLogger(__name__)


class SimDriver:
    """Owns the simulated exchange's clock on behalf of a venue server (see module docstring)."""

    def __init__(self, exchange: SimExchange, clock: Clock, tick_s: float, name: str = "venue server") -> None:
        self._exchange = exchange
        self._clock = clock
        self._tick_s = tick_s
        self._name = name
        self.sim_time = 0.0
        self._hooks: list[Callable[[float], None]] = []

    def on_tick(self, hook: Callable[[float], None]) -> None:
        """Call `hook(now)` after every advance of the background task (timers, expiries)."""
        self._hooks.append(hook)

    def advance(self, t: float | None = None) -> None:
        """Process everything due up to `t` (default: the clock's now)."""
        target = self._clock.now() if t is None else t
        if target < self.sim_time:
            target = self.sim_time
        self._exchange.advance_to(target)
        self.sim_time = target

    def tick(self) -> None:
        """One step of the background task: advance to now, then run the hooks."""
        self.advance()
        for hook in self._hooks:
            hook(self.sim_time)

    async def settle(self) -> None:
        """Let a request submitted just now reach the venue and be answered: wait the simulated
        one-way latency, then advance at least to the moment it arrives."""
        latency = self._exchange.settings.latency_s
        arrival = self.sim_time + latency
        if latency > 0:
            await asyncio.sleep(latency)
        self.advance(max(self._clock.now(), arrival))

    async def run(self) -> None:
        """Follow the clock until cancelled: advance, run the hooks, sleep until the next thing."""
        while True:
            try:
                self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one step must not stop the venue; it is logged loudly
                log.exception("%s: advancing the simulated exchange failed", self._name)
            due = self._exchange.next_event_time()
            wait = self._tick_s if due is None else min(self._tick_s, max(0.0, due - self._clock.now()))
            await asyncio.sleep(wait)
