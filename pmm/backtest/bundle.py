"""The connector a backtest trades on: recorded market data + the simulated exchange, on a virtual clock.

It is paper trading (pmm/connectors/paper.py) with the live feed replaced by a recording: every
recorded event goes first to the simulated exchange (`SimExchange.feed`: its copy of the venue's
book moves and our resting orders are matched against it, with the queue model if one is set),
then to the engine, unchanged. Funding is settled at the recording's announced funding times with
its rates and marks; fees, margin and liquidation are the simulated exchange's, from the config's
`sim:` section. Orders and cancels reach the venue `latency_s` after they are sent (the venue's
answer is back at that moment).

The pacer is the whole clock: when the engine waits, it moves the virtual clock straight to the
next thing that can happen (the next record, an order arriving at the venue, a funding time, or an
engine timer) and delivers it. Records with the same time are delivered together, as a live feed's
burst would reach the engine in one batch. The event loop is entered only once every
`STEPS_PER_YIELD` steps (signals, the progress line).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pmm.backtest.data import MarketData
from pmm.connectors.base import ConnectorBundle, Emit
from pmm.connectors.paper import PaperGateway
from pmm.core.clock import VirtualClock
from pmm.core.model import TradingRules
from pmm.core.pacer import WakeSignal
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import ExternalMarket, SimMarketSettings, SimSettings

if TYPE_CHECKING:
    from pmm.backtest.collect import Sampler

CONNECTOR_ID = "backtest"
STEPS_PER_YIELD = 256


class RecordedFeed:
    """The `MarketDataFeed` of a backtest: rules from the recording; events come from the pacer."""

    def __init__(self, rules: TradingRules) -> None:
        self.connector_id = CONNECTOR_ID
        self._rules = rules
        self.emit: Emit | None = None

    async def prepare(self, markets: Sequence[str]) -> None:
        """Nothing to load: the recording (or the config) gave the rules."""

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self.emit = emit

    async def stop(self) -> None:
        self.emit = None

    def trading_rules(self, market: str) -> TradingRules:
        return self._rules


class RecordedPacer:
    """Moves the virtual clock to the next record, venue event or timer, and delivers it (see above)."""

    virtual = True

    def __init__(self, data: MarketData, exchange: SimExchange, clock: VirtualClock, feed: RecordedFeed,
                 on_step: Callable[[float], None] | None = None) -> None:
        self._data = data
        self._exchange = exchange
        self._clock = clock
        self._feed = feed
        self._on_step = on_step
        self._steps = 0
        self.records = 0
        self.sampler: Sampler | None = None  # reads the bot's state every so much data time

    def finished(self) -> bool:
        return self._data.next_time() is None

    async def wait(self, deadline: float | None, wake: WakeSignal) -> None:
        if wake.is_set():
            return
        data, exchange = self._data, self._exchange
        t_data = data.next_time()
        target = t_data
        t_venue = exchange.next_event_time()
        if t_venue is not None and (target is None or t_venue < target):
            target = t_venue
        if deadline is not None and (target is None or deadline < target):
            target = deadline
        if target is None:
            await asyncio.sleep(0)
            return
        self._clock.advance_to(target)
        if t_data is not None and t_data <= target:
            emit = self._feed.emit
            while data.next_time() == t_data:
                t, event = data.pop()
                exchange.feed(event, t)  # type: ignore[arg-type]  # data holds only FedEvents
                if emit is not None:
                    emit(event)
                self.records += 1
        else:
            exchange.advance_to(target)
        sampler = self.sampler
        if sampler is not None and target >= sampler.next_due:
            sampler.sample(target)
        self._steps += 1
        if self._steps >= STEPS_PER_YIELD:
            self._steps = 0
            if self._on_step is not None:
                self._on_step(target)
            await asyncio.sleep(0)


def backtest_bundle(
    settings: SimSettings, data: MarketData, rules: TradingRules, on_step: Callable[[float], None] | None = None,
) -> tuple[ConnectorBundle, SimExchange, RecordedPacer]:
    """(bundle, its simulated exchange, its pacer) for `data`; `settings` gives fees, balances,
    latency, margin and the queue model (its markets are replaced by the recorded one)."""
    start = data.next_time()
    assert start is not None  # open_data refuses empty data
    settings = dataclasses.replace(
        settings, start_ts=start,
        markets=(SimMarketSettings(market=data.market, generator=ExternalMarket(), tick_size=rules.tick_size,
                                   step_size=rules.step_size, min_size=rules.min_size,
                                   min_notional=rules.min_notional, max_leverage=rules.max_leverage),))
    exchange = SimExchange(settings)
    exchange.set_trading_rules(data.market, rules)
    exchange.advance_to(start)  # the venue's time starts with the data
    clock = VirtualClock(start)
    feed = RecordedFeed(rules)
    pacer = RecordedPacer(data, exchange, clock, feed, on_step)
    bundle = ConnectorBundle(connector_id=CONNECTOR_ID, feed=feed,
                             gateway=PaperGateway(exchange, clock, CONNECTOR_ID), clock=clock, pacer=pacer)
    return bundle, exchange, pacer
