"""Funding payments read back from a venue's account history, each emitted once.

Venues tell a private stream that funding was settled without the payment's details (a funding
execution, an account update or a balance event of type funding fee), or not at all. A gateway
then reads its recent payments (`read(since, market)`, the gateway's `funding_payments_since`) and
emits the new ones as `FundingPaymentReceived`. History can trail the push, so a hinted read
retries a few times until something new appears; `poll` reads now and then as a safety net for a
missed push.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from pmm.core.clock import Clock
from pmm.core.events import Event, FundingPaymentReceived
from pmm.core.model import FundingPaymentReport
from pmm.errors import PmmError

log = logging.getLogger("pmm.connectors.funding")

Read = Callable[[float, str], Awaitable[list[FundingPaymentReport]]]
Sleep = Callable[[float], Awaitable[None]]

RETRY_DELAYS_S = (0.5, 2.0, 5.0)  # the venue's history can trail its push


class FundingWatch:
    def __init__(self, read: Read, emit: Callable[[Event], None], clock: Clock, sleep: Sleep, *,
                 lookback_s: float = 3600.0, retry_delays_s: Iterable[float] = RETRY_DELAYS_S) -> None:
        self._read = read
        self._emit = emit
        self._clock = clock
        self._sleep = sleep
        self.lookback_s = lookback_s
        self._retry_delays_s = tuple(retry_delays_s)
        self.seen: set[tuple[str, int]] = set()

    async def fetch(self, markets: Iterable[str], *, expect_new: bool = False) -> int:
        """Read the last `lookback_s` of payments of `markets` and emit the unseen ones. With
        `expect_new` (a push said funding was paid), retry until one is new. Returns how many."""
        markets = list(markets)
        emitted = 0
        for delay in (0.0, *(self._retry_delays_s if expect_new else ())):
            if delay:
                await self._sleep(delay)
            since = self._clock.now() - self.lookback_s
            for market in markets:
                try:
                    payments = await self._read(since, market)
                except PmmError as exc:
                    log.warning("could not read funding payments of %s: %s", market, exc)
                    continue
                for p in payments:
                    if (p.market, p.funding_time_ms) in self.seen:
                        continue
                    self.seen.add((p.market, p.funding_time_ms))
                    emitted += 1
                    self._emit(FundingPaymentReceived(p.market, p.funding_time_ms, p.rate, p.amount, p.asset,
                                                      p.position_amount, p.mark_price, p.funding_time_ms / 1000,
                                                      self._clock.now()))
            if emitted:
                break
        return emitted

    async def poll(self, markets: Callable[[], Iterable[str]], every_s: float) -> None:
        """Read every `every_s` seconds until cancelled."""
        while True:
            await self._sleep(every_s)
            try:
                await self.fetch(markets())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("funding poll failed")
