"""Rate-limit bookkeeping driven by what the venue reports: per-endpoint budgets and IP bans.

Venues that tell the client how much of an endpoint's budget is left, and when it refills
(in response headers, e.g. a remaining count and a reset timestamp), are obeyed before the next
request instead of after a refusal: a request to an exhausted endpoint waits for the reset. A
refusal that names a reset time pauses the endpoint until then. An IP ban stops every request.
Time comes from the injected clock; waiting goes through the injected sleep, so tests run fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pmm.core.clock import Clock

log = logging.getLogger("pmm.connectors.rate_limits")

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class EndpointBudget:
    limit: int | None = None
    remaining: int | None = None
    reset_ts: float = 0.0  # when the budget refills (clock seconds)
    paused_until: float = 0.0  # set after the venue refused a request for its rate


class RateLimiter:
    """Budgets per endpoint key (usually the path) and one ban gate for the whole client."""

    def __init__(self, clock: Clock, sleep: Sleep = asyncio.sleep, *, max_wait_s: float = 5.0) -> None:
        self._clock = clock
        self._sleep = sleep
        self.max_wait_s = max_wait_s
        self.budgets: dict[str, EndpointBudget] = {}
        self.banned_until: float | None = None
        self.waits = 0  # how many times a request waited for a budget (tests and status)

    def budget(self, key: str) -> EndpointBudget:
        budget = self.budgets.get(key)
        if budget is None:
            budget = self.budgets[key] = EndpointBudget()
        return budget

    def note(self, key: str, *, limit: int | None, remaining: int | None, reset_ts: float | None) -> None:
        """What the venue reported with a reply."""
        budget = self.budget(key)
        if limit is not None:
            budget.limit = limit
        if remaining is not None:
            budget.remaining = remaining
        if reset_ts is not None:
            budget.reset_ts = reset_ts

    def pause(self, key: str, until: float) -> None:
        budget = self.budget(key)
        budget.paused_until = max(budget.paused_until, until)

    def wait_needed(self, key: str) -> float:
        """Seconds to wait before the next request to `key` (0 = go)."""
        budget = self.budgets.get(key)
        if budget is None:
            return 0.0
        now = self._clock.now()
        wait = max(0.0, budget.paused_until - now)
        if budget.remaining is not None and budget.remaining <= 0 and budget.reset_ts > now:
            wait = max(wait, budget.reset_ts - now)
        return wait

    async def wait_turn(self, key: str) -> float:
        """Wait (at most `max_wait_s`) until `key` has budget; returns the seconds still missing.

        A caller that gets a positive answer back should not send: the venue would refuse it.
        """
        wait = self.wait_needed(key)
        if wait <= 0:
            return 0.0
        if wait > self.max_wait_s:
            return wait
        self.waits += 1
        log.info("rate limit of %s exhausted; waiting %.2f s for its reset", key, wait)
        await self._sleep(wait)
        budget = self.budgets[key]
        if budget.remaining is not None and budget.remaining <= 0 and self._clock.now() >= budget.reset_ts:
            budget.remaining = None  # refilled; the next reply tells the new count
        return 0.0

    def use(self) -> float:
        """The largest share of an endpoint's budget in use, of those the venue reported (0 to 1);
        a budget whose reset time has passed counts as refilled."""
        now = self._clock.now()
        shares = [1 - b.remaining / b.limit for b in self.budgets.values()
                  if b.limit and b.remaining is not None and (b.reset_ts == 0 or b.reset_ts > now)]
        return max([0.0, *shares])

    def ban(self, seconds: float) -> None:
        self.banned_until = max(self.banned_until or 0.0, self._clock.now() + seconds)

    def ban_left(self) -> float:
        if self.banned_until is None:
            return 0.0
        left = self.banned_until - self._clock.now()
        if left <= 0:
            self.banned_until = None
            return 0.0
        return left
