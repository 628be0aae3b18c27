"""Paper trading on any venue: the venue's real public feed + the in-process simulated exchange.

`build_paper(connector_id, feed, config)` turns a venue's `MarketDataFeed` into a connector whose
orders never leave the process (DESIGN.md §1, `<venue>_paper_trade`). A venue's builder calls it
with its own feed, e.g. `build_paper("<venue>_paper_trade", <Venue>Feed(...), config)`; nothing
here knows a venue.

The tee. `PaperFeed` starts the real feed with its own callback, and every event the real feed
emits goes, in this order:
  1. to the simulated exchange (`SimExchange.feed`, for events of the paper market): it first
     catches up to now (order requests that have arrived, a funding settlement), then moves its
     copy of the venue's market and matches our resting orders against it;
  2. then to the engine, unchanged.
Because of that order, the fills an event causes (and the position and balance updates) are in
the engine's inbox before the event itself: the engine never decides on a book that went through
one of its orders without knowing the order filled. Events of other markets (an external price
market of the same venue) and non-market events go to the engine only.

Time. The clock is the wall clock (`LiveClock`). The simulated exchange's time moves to now on
every teed event (stamped with the local time it arrived, not the venue's time, so both sides of
the tee share one clock) and whenever the engine waits: `SimPacer` in real time sleeps until the
engine's next timer, the exchange's next due item (an order request after `sim.latency_ms`, the
next funding time) or the next event, then advances the exchange to now. Order requests leave at
the wall-clock time they are made (`PaperGateway` brings the exchange up to now first) and reach
the paper venue `sim.latency_ms` later. Funding is settled at the venue's announced funding times
with its rate and mark (see `SimExchange.feed`).

What comes from where: the markets' trading rules from the real feed (loaded into the simulated
exchange when the feed starts, or earlier through `prepare`); balances, fees, latency,
maintenance margin and the fallback funding interval from the config's `sim:` section (its
`markets` are ignored: the market is the config's `market`, moved by the real feed).

The account is the simulated one: `export_state` saves it like the `sim_perpetual` account, and
its fills are stored under `venue` = the paper connector id, so they never mix with live or
`sim_perpetual` fills.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import ConnectorBundle, Emit, MarketDataFeed
from pmm.connectors.sim_perpetual.connector import SimGateway
from pmm.connectors.sim_perpetual.pacer import SimPacer
from pmm.core.clock import Clock, LiveClock
from pmm.core.events import BookResyncRequired, Event
from pmm.core.model import ClientOrderId, OrderRequest, TradingRules
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.external import FedEvent, event_market
from pmm.sim.settings import ExternalMarket, SimMarketSettings

__all__ = ["PaperFeed", "PaperGateway", "build_paper"]


class PaperFeed:
    """A venue's real feed whose events also drive the simulated exchange (the tee, above)."""

    def __init__(self, real: MarketDataFeed, exchange: SimExchange, clock: Clock, connector_id: str) -> None:
        self.connector_id = connector_id
        self.real = real
        self._exchange = exchange
        self._clock = clock
        self._sim_markets = frozenset(exchange.markets())
        self._emit: Emit | None = None

    @property
    def exchange(self) -> SimExchange:
        """The simulated exchange this feed drives (for tests and tools; read, do not feed)."""
        return self._exchange

    async def prepare(self, markets: Sequence[str]) -> None:
        """Let the real feed load what it needs (e.g. trading rules), then give the simulated
        markets the real trading rules."""
        await self.real.prepare(list(markets))
        self._load_rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._emit = emit
        await self.real.start(markets, self._tee)
        # Orders only come after the feed has started: by then the real rules are in place.
        self._load_rules()

    async def stop(self) -> None:
        await self.real.stop()
        self._emit = None

    def trading_rules(self, market: str) -> TradingRules:
        return self.real.trading_rules(market)

    def _load_rules(self) -> None:
        for market in self._sim_markets:
            self._exchange.set_trading_rules(market, self.real.trading_rules(market))

    def _tee(self, event: Event) -> None:
        """The real feed's callback: the simulated exchange first, then the engine (see above)."""
        if event_market(event) in self._sim_markets:
            fed: FedEvent = event  # type: ignore[assignment]  # event_market() is only set for FedEvents
            self._exchange.feed(fed, self._clock.now())
        emit = self._emit
        if emit is not None:
            emit(event)


class PaperGateway(SimGateway):
    """`SimGateway` whose requests leave at the wall-clock time they are made.

    The simulated exchange times a request from its own last time (`latency_s` after it). In a
    generated real-time run that lags the wall clock by at most one step; here the exchange only
    moves on feed events and pacer wake-ups, so it is first brought up to now.
    """

    def __init__(self, exchange: SimExchange, clock: Clock, connector_id: str) -> None:
        super().__init__(exchange, connector_id)
        self._paper_exchange = exchange
        self._clock = clock

    def _catch_up(self) -> None:
        self._paper_exchange.advance_to(self._clock.now())

    async def place_order(self, request: OrderRequest) -> None:
        self._catch_up()
        await super().place_order(request)

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        self._catch_up()
        await super().cancel_order(market, client_id)

    async def cancel_all(self, market: str) -> None:
        self._catch_up()
        await super().cancel_all(market)


def build_paper(
    connector_id: str,
    feed: MarketDataFeed,
    config: Any,
    *,
    fast: bool = False,
    restored_state: dict[str, Any] | None = None,
) -> ConnectorBundle:
    """The paper-trading bundle for `connector_id` over the venue's real `feed` (module docstring).

    `config` gives the market (`config.market`) and the `sim:` section (balances, fees, latency,
    maintenance margin; `config.to_sim_settings()`). `restored_state` is a saved paper account
    (`export_state()` of an earlier run). `fast` must be False: a real feed runs in real time.
    """
    if fast:
        raise ConfigError(
            f"--fast needs a simulated market, but {connector_id} paper-trades on the venue's real market data, "
            "which arrives in real time. Drop --fast, or use `derivative: sim_perpetual` for a fast simulated run."
        )
    market = str(config.market)
    # The rules here are placeholders until the real feed's are loaded (PaperFeed.prepare/start):
    # a venue's feed may only know them after an async request.
    settings = dataclasses.replace(
        config.to_sim_settings(), markets=(SimMarketSettings(market=market, generator=ExternalMarket()),)
    )
    exchange = SimExchange(settings)
    clock = LiveClock()
    now = clock.now()
    if restored_state is not None:
        try:
            exchange.restore_state(restored_state)
        except Exception as exc:  # a state from an older version or another market
            raise ConfigError(
                f"The paper account stored for {connector_id} does not fit this config ({exc}). Use another "
                "database with --db (or delete data/pmm.sqlite) to start a fresh paper account."
            ) from exc
        # The paper venue stood still while no bot ran: resume at the wall clock without
        # simulating the gap (as sim_perpetual does; funding in the gap is not charged).
        exchange.skip_to(now)
        # The book saved with the account is stale: empty it until the feed's next snapshot.
        exchange.feed(BookResyncRequired(market, "paper account restored: waiting for the venue's book", now, now), now)
    else:
        exchange.advance_to(now)  # the paper venue's time starts now
    return ConnectorBundle(
        connector_id=connector_id,
        feed=PaperFeed(feed, exchange, clock, connector_id),
        gateway=PaperGateway(exchange, clock, connector_id),
        clock=clock,
        pacer=SimPacer(exchange, clock, fast=False),
        export_state=exchange.export_state,
    )
