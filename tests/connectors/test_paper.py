"""Paper trading (`pmm.connectors.paper.build_paper`): a venue's real feed teed into the simulated
exchange. The "real" feed is a stand-in: a scripted feed emitting the events a venue's feed
emits, or `SimFeed` over a separate simulated exchange playing the venue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal as D
from typing import Any

import pytest

from pmm.config import parse_config_text
from pmm.connectors.base import ConnectorBundle, Emit
from pmm.connectors.paper import PaperFeed, build_paper
from pmm.connectors.sim_perpetual.connector import SimFeed
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    Event,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    Trade,
)
from pmm.core.model import (
    ClientOrderId,
    FundingInfo,
    Liquidity,
    OrderRequest,
    OrderType,
    Side,
    TradeId,
    TradingRules,
)
from pmm.engine.engine import Engine, EngineOptions
from pmm.core.pacer import WakeEvent
from pmm.engine.recorder import NullRecorder
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket
from pmm.strategy import PerpetualMarketMaking

M = "BTC-USDT"
PAPER = "fakevenue_paper_trade"
RULES = TradingRules(M, "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"), D("5"), 25)

CONFIG = """\
derivative: sim_perpetual
market: {market}
leverage: 10
bid_spread: 0.01
ask_spread: 0.01
order_amount: 0.01
order_refresh_time: 15
filled_order_delay: 1
long_profit_taking_spread: 0.2
short_profit_taking_spread: 0.2
sim:
  balances:
    USDT: 10000
  maker_fee_pct: 0.02
  taker_fee_pct: 0.05
  latency_ms: {latency_ms}
  markets:
    {market}:
      tick_size: 7
      generator: static
"""


def config(market: str = M, latency_ms: int = 0) -> Any:
    # The `sim.markets` entry (a static market with a 7-wide tick) must be ignored by paper trading.
    return parse_config_text(CONFIG.format(market=market, latency_ms=latency_ms).replace(
        "generator: static", "generator: {type: static, bids: [[1, 1]], asks: [[2, 1]]}"))


class ScriptedFeed:
    """A stand-in for a venue's public feed: the test decides what it emits, and when."""

    connector_id = "fakevenue"

    def __init__(self, rules: TradingRules = RULES, rules_after_prepare: bool = False) -> None:
        self._rules = {rules.market: rules}
        self._rules_ready = not rules_after_prepare  # like BinanceFeed: rules need an async load
        self.emit: Emit | None = None
        self.markets: list[str] = []
        self.clock = LiveClock()

    async def prepare(self, markets: Sequence[str]) -> None:
        self._rules_ready = True

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        await self.prepare(markets)
        self.markets = list(markets)
        self.emit = emit

    async def stop(self) -> None:
        self.emit = None

    def trading_rules(self, market: str) -> TradingRules:
        if not self._rules_ready:
            raise RuntimeError("trading rules are not loaded: prepare first")
        return self._rules[market]

    # --- what the venue says ------------------------------------------------------------------

    def send(self, event: Event) -> None:
        assert self.emit is not None, "start the feed first"
        self.emit(event)

    def book(self, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]], uid: int = 1,
             market: str = M) -> BookSnapshot:
        now = self.clock.now()
        event = BookSnapshot(market, _levels(bids), _levels(asks), uid, now, now)
        self.send(event)
        return event

    def delta(self, bids: Sequence[tuple[str, str]] = (), asks: Sequence[tuple[str, str]] = (),
              uid: int = 2) -> BookDelta:
        now = self.clock.now()
        event = BookDelta(M, _levels(bids), _levels(asks), uid, now, now)
        self.send(event)
        return event

    def trade(self, price: str | D, amount: str, aggressor: Side, n: int = 1) -> Trade:
        now = self.clock.now()
        event = Trade(M, TradeId(f"venue-{n}"), D(price), D(amount), aggressor, now, now)
        self.send(event)
        return event

    def funding(self, mark: str, rate: str, next_ts: float) -> FundingInfoUpdated:
        now = self.clock.now()
        event = FundingInfoUpdated(FundingInfo(M, D(mark), D(mark), D(rate), next_ts, 8 * 3600.0), now, now)
        self.send(event)
        return event

    def resync(self, reason: str = "sequence gap") -> None:
        now = self.clock.now()
        self.send(BookResyncRequired(M, reason, now, now))


def _levels(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[D, D], ...]:
    return tuple((D(p), D(s)) for p, s in pairs)


class Paper:
    """A paper bundle over a scripted feed, started, with every event the engine would get."""

    def __init__(self, bundle: ConnectorBundle, venue: ScriptedFeed) -> None:
        self.bundle = bundle
        self.venue = venue
        self.events: list[Event] = []
        assert isinstance(bundle.feed, PaperFeed)
        self.exchange: SimExchange = bundle.feed.exchange

    async def start(self) -> Paper:
        await self.bundle.gateway.start(self.events.append)
        await self.bundle.feed.start([M], self.events.append)
        return self

    async def place(self, cid: str, side: Side, amount: str, price: str | None,
                    order_type: OrderType = OrderType.LIMIT) -> None:
        request = OrderRequest(ClientOrderId(cid), M, side, order_type, D(amount),
                               None if price is None else D(price))
        await self.bundle.gateway.place_order(request)
        await self.let_time_pass(0)

    async def let_time_pass(self, seconds: float) -> None:
        """Wait as the engine does (the paper pacer), so the simulated exchange catches up."""
        clock = self.bundle.clock
        deadline = clock.now() + seconds
        while True:
            await self.bundle.pacer.wait(deadline, WakeEvent())
            if clock.now() >= deadline:
                return

    def fills(self, cid: str | None = None) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled) and (cid is None or e.client_id == cid)]


async def paper(latency_ms: int = 0, **feed_options: Any) -> Paper:
    venue = ScriptedFeed(**feed_options)
    return await Paper(build_paper(PAPER, venue, config(latency_ms=latency_ms)), venue).start()


BIDS = (("99.9", "1"), ("99.8", "2"))
ASKS = (("100.1", "1"), ("100.2", "2"))


# --- building ----------------------------------------------------------------------------------


def test_fast_is_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="--fast") as err:
        build_paper(PAPER, ScriptedFeed(), config(), fast=True)
    assert "real time" in str(err.value) and PAPER in str(err.value)


def test_the_bundle_is_the_real_feed_and_a_simulated_account_under_the_paper_venue():
    bundle = build_paper(PAPER, ScriptedFeed(), config())
    assert bundle.connector_id == PAPER and bundle.feed.connector_id == PAPER
    assert bundle.gateway.venue == PAPER and bundle.gateway.connector_id == PAPER
    assert isinstance(bundle.clock, LiveClock) and bundle.pacer.virtual is False
    assert bundle.export_state is not None
    # Balances and fees from the config's `sim:` section; the market from the config, not sim.markets.
    assert bundle.gateway.fee_rates(M) == (D("0.0002"), D("0.0005"))
    exchange = bundle.feed.exchange  # type: ignore[attr-defined]
    assert exchange.markets() == [M]


def test_trading_rules_come_from_the_real_feed_even_when_it_loads_them_late():
    async def main() -> None:
        rules = TradingRules(M, "BTC", "USDT", D("0.5"), D("0.01"), D("0.01"), D("10"), 8)
        venue = ScriptedFeed(rules, rules_after_prepare=True)
        bundle = build_paper(PAPER, venue, config())  # the feed cannot answer yet: no error
        assert isinstance(bundle.feed, PaperFeed)
        await bundle.feed.prepare([M])
        assert bundle.feed.trading_rules(M) == rules == bundle.feed.exchange.trading_rules(M)
        assert bundle.feed.exchange.leverage(M) == 8  # capped at the venue's maximum

    asyncio.run(main())


# --- the tee -------------------------------------------------------------------------------------


def test_the_simulated_book_is_the_fed_book_and_other_markets_pass_through():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        p.venue.delta(bids=(("99.9", "0"), ("99.85", "4")), asks=(("100.15", "3"),))
        book = p.exchange.book(M)
        assert book.levels(Side.BUY) == [(D("99.85"), D("4")), (D("99.8"), D("2"))]
        assert book.levels(Side.SELL) == [(D("100.1"), D("1")), (D("100.15"), D("3")), (D("100.2"), D("2"))]
        # Every event reaches the engine unchanged, in the feed's order.
        assert [type(e) for e in p.events] == [BookSnapshot, BookDelta]
        # An external price market of the same venue is not simulated: the engine alone gets it.
        other = p.venue.book((("1999", "1"),), (("2001", "1"),), market="ETH-USDT")
        assert p.events[-1] is other and p.exchange.markets() == [M]

    asyncio.run(main())


def test_a_fed_trade_through_a_resting_bid_fills_it_as_maker_before_the_engine_sees_the_trade():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("bid", Side.BUY, "0.5", "99.9")
        assert any(isinstance(e, OrderAccepted) and e.client_id == "bid" for e in p.events)
        p.venue.trade("100.0", "1", Side.SELL)  # not through our bid
        assert p.fills() == []
        trade = p.venue.trade("99.9", "0.3", Side.SELL, n=2)
        (fill,) = p.fills("bid")
        assert (fill.price, fill.amount, fill.liquidity) == (D("99.9"), D("0.3"), Liquidity.MAKER)
        assert fill.fee == D("99.9") * D("0.3") * D("0.0002")
        # The tee: the simulated exchange first (its fill is emitted), then the engine gets the trade.
        assert p.events.index(fill) < p.events.index(trade)
        (stored,) = await p.bundle.gateway.fills_since(0, M)
        assert stored.trade_id == fill.trade_id

    asyncio.run(main())


def test_a_fed_book_update_crossing_a_resting_bid_fills_it():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("bid", Side.BUY, "0.5", "100.0")
        p.venue.delta(asks=(("99.95", "2"),))
        (fill,) = p.fills("bid")
        assert (fill.price, fill.amount, fill.liquidity) == (D("100.0"), D("0.5"), Liquidity.MAKER)
        assert await p.bundle.gateway.open_orders(M) == []

    asyncio.run(main())


def test_a_crossing_limit_order_walks_the_fed_book_as_taker():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("take", Side.BUY, "2", "100.2")
        assert [(f.price, f.amount, f.liquidity) for f in p.fills("take")] == [
            (D("100.1"), D("1"), Liquidity.TAKER),
            (D("100.2"), D("1"), Liquidity.TAKER),
        ]
        assert p.fills("take")[1].fee == D("100.2") * D("0.0005")
        (position,) = await p.bundle.gateway.positions()
        assert position.amount == D("2")

    asyncio.run(main())


def test_funding_is_settled_at_the_fed_time_with_the_fed_rate_and_mark():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("long", Side.BUY, "1", None, OrderType.MARKET)
        due = p.bundle.clock.now() + 0.3
        p.venue.funding("100.4", "0.0003", due)
        await p.let_time_pass(0.1)
        assert not [e for e in p.events if isinstance(e, FundingPaymentReceived)]
        p.venue.funding("100.5", "0.0004", due)
        await p.let_time_pass(0.35)  # the pacer wakes at the fed funding time
        (payment,) = [e for e in p.events if isinstance(e, FundingPaymentReceived)]
        assert payment.funding_time_ms == round(due * 1000)
        assert (payment.rate, payment.mark_price, payment.position_amount) == (D("0.0004"), D("100.5"), D("1"))
        assert payment.amount == -(D("100.5") * D("0.0004"))
        assert payment.ts >= due
        (recorded,) = await p.bundle.gateway.funding_payments_since(0, M)
        assert recorded.amount == payment.amount

    asyncio.run(main())


def test_nothing_fills_while_the_fed_book_is_resyncing():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("bid", Side.BUY, "1", "99.9")
        p.venue.resync()
        assert p.exchange.book(M).is_empty
        p.venue.trade("99.0", "5", Side.SELL)
        p.venue.delta(asks=(("99.0", "5"),))
        await p.place("cross", Side.BUY, "1", "100.5")  # would have walked the asks before the gap
        await p.place("mkt", Side.SELL, "1", None, OrderType.MARKET)
        assert p.fills() == []
        assert [e.code for e in p.events if isinstance(e, OrderRejected)] == ["no_liquidity"]
        p.venue.book((("99.5", "1"),), (("100.7", "1"),), uid=50)  # synced again, crossing nothing
        assert p.fills() == []
        p.venue.trade("99.9", "1", Side.SELL, n=2)
        assert [f.client_id for f in p.fills()] == ["cross"]

    asyncio.run(main())


def test_order_requests_reach_the_paper_venue_after_the_configured_latency():
    async def main() -> None:
        p = await paper(latency_ms=150)
        p.venue.book(BIDS, ASKS)
        sent = p.bundle.clock.now()
        await p.bundle.gateway.place_order(
            OrderRequest(ClientOrderId("slow"), M, Side.BUY, OrderType.LIMIT, D("0.1"), D("99")))
        await p.let_time_pass(0.05)
        assert not any(isinstance(e, OrderAccepted) for e in p.events)
        await p.let_time_pass(0.2)
        (accepted,) = [e for e in p.events if isinstance(e, OrderAccepted)]
        assert accepted.ts >= sent + 0.15

    asyncio.run(main())


def test_a_simulated_venue_as_the_real_feed_is_mirrored_level_for_level():
    """SimFeed over a separate synthetic SimExchange plays the venue; the paper book follows it."""

    async def main() -> None:
        venue_settings = SimSettings(markets=(SimMarketSettings(M, SyntheticMarket(start_price=D("100"),
                                                                                   trade_rate_per_min=600.0)),),
                                     start_ts=LiveClock().now())
        venue = SimExchange(venue_settings)
        real = SimFeed(venue, connector_id="fakevenue")
        bundle = build_paper(PAPER, real, config())
        p = await Paper(bundle, ScriptedFeed()).start()
        t = venue_settings.start_ts
        for _ in range(20):
            t += 0.5
            venue.advance_to(t)
            for side in Side:
                assert p.exchange.book(M).levels(side) == venue.book(M).levels(side)
        assert any(isinstance(e, Trade) for e in p.events) and any(isinstance(e, FundingInfoUpdated) for e in p.events)
        assert p.exchange.funding_info(M).mark_price == venue.funding_info(M).mark_price

    asyncio.run(main())


# --- persistence -------------------------------------------------------------------------------


def test_export_restore_round_trip():
    async def main() -> None:
        p = await paper()
        p.venue.book(BIDS, ASKS)
        await p.place("long", Side.BUY, "1", None, OrderType.MARKET)
        await p.place("bid", Side.BUY, "0.5", "99.0")
        p.venue.funding("100.3", "0.0001", p.bundle.clock.now() + 3600)
        assert p.bundle.export_state is not None
        state = json.loads(json.dumps(p.bundle.export_state()))

        venue = ScriptedFeed()
        again = await Paper(build_paper(PAPER, venue, config(), restored_state=state), venue).start()
        gw = again.bundle.gateway
        assert await gw.positions() == await p.bundle.gateway.positions()
        assert await gw.balances() == await p.bundle.gateway.balances()
        assert [o.client_id for o in await gw.open_orders(M)] == ["bid"]
        assert [f.trade_id for f in await gw.fills_since(0, M)] == [f.trade_id for f in p.fills()]
        # The saved book is stale: empty, and nothing fills until the venue's next snapshot.
        assert again.exchange.book(M).is_empty
        venue.trade("98", "1", Side.SELL)
        assert again.fills() == []
        venue.book((("98.5", "1"),), (("98.9", "1"),))
        assert [(f.client_id, f.price) for f in again.fills()] == [("bid", D("99.0"))]

        with pytest.raises(ConfigError, match="paper account"):
            build_paper(PAPER, ScriptedFeed(), config(market="ETH-USDT"), restored_state=state)

    asyncio.run(main())


# --- the engine on a paper bundle ----------------------------------------------------------------


def test_the_engine_quotes_gets_a_fill_and_stops_with_nothing_open():
    venue = ScriptedFeed()
    cfg = config()
    bundle = build_paper(PAPER, venue, cfg)
    exchange: SimExchange = bundle.feed.exchange  # type: ignore[attr-defined]
    params = cfg.to_strategy_params()
    strategy = PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market))
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=NullRecorder(), run_id="paper000",
                    options=EngineOptions(duration_s=3.0, status_interval_s=0.5))
    traded: list[str] = []

    async def the_venue() -> None:
        """Book snapshots every 100 ms; once the bot's bid rests, a seller prints through it."""
        while venue.emit is None:
            await asyncio.sleep(0.01)
        venue.funding("65000", "0.0001", venue.clock.now() + 3600)
        uid = 0
        while engine.stop_reason is None and venue.emit is not None:
            uid += 1
            venue.book((("64999.9", "2"), ("64999", "5")), (("65000.1", "2"), ("65001", "5")), uid=uid)
            bids = [o for o in exchange.open_orders(M) if o.side is Side.BUY]
            if bids and not traded:
                traded.append(bids[0].client_id)
                venue.trade(bids[0].price, "1", Side.SELL)
            await asyncio.sleep(0.1)

    async def main() -> str:
        task = asyncio.create_task(the_venue())
        try:
            return await asyncio.wait_for(engine.run(), 15)
        finally:
            task.cancel()

    reason = asyncio.run(main())
    assert "duration" in reason
    assert engine.orders.placed >= 2, "the bot must quote on the paper venue"
    assert traded and engine.session.fills == 1
    assert exchange.open_orders() == [] and engine.tracker.active() == []
    (position,) = exchange.positions()  # the paper fill opened a position that is still held
    assert position.amount == D("0.01")
    assert [f.client_id for f in exchange.fills_since(0)] == [traded[0]]
