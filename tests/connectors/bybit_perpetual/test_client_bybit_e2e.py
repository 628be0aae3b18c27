"""pmm's Bybit client (feed + gateway) end to end against the Bybit-dialect server on 127.0.0.1
(`BybitServer` over the simulated exchange, real time): trading rules, the book equal to the sim's
(also across a `u` gap and an orderbook-service restart), account set-up twice, place / list /
cancel, a crossing PostOnly rejected, a market fill with its execution message, the position and the
balance, fills from execution/list, funding from the transaction log, a reduce-only close, and a
dropped private socket that is re-read without losing or duplicating anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.feed import BybitFeed
from pmm.connectors.bybit_perpetual.gateway import BybitGateway
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.bybit_perpetual.server import BybitServer
from pmm.core.book import OrderBook
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BalanceUpdated,
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    ConnectionChanged,
    Event,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
)
from pmm.core.model import (
    ClientOrderId,
    Liquidity,
    MarginMode,
    OrderRequest,
    OrderType,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import PostOnlyWouldCross
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import (
    SimMarketSettings,
    SimSettings,
    StaticMarket,
    SyntheticMarket,
)

D = Decimal
MARKET = "BTC-USDT"
API_KEY = "e2eKeyAbCdEfGhIjKl"
API_SECRET = "e2e-secret-0123456789abcdef0123456789"


def moving_settings() -> SimSettings:
    """A synthetic market whose book is redrawn every 0.1 s: plenty of orderbook deltas."""
    market = SimMarketSettings(MARKET, SyntheticMarket(book_interval_s=0.1, trade_rate_per_min=60.0))
    return SimSettings(markets=(market,), balances={"USDT": D("10000")}, funding_interval_s=3600.0)


def settings(funding_interval_s: float = 3600.0) -> SimSettings:
    """A book that never moves: bids 64990 (1), 64980 (2); asks 65010 (1), 65020 (2)."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))),
                        mark_price=D("65000"), funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(MARKET, book),), balances={"USDT": D("10000")},
                       funding_interval_s=funding_interval_s)


@dataclass
class Client:
    server: BybitServer
    exchange: SimExchange
    feed: BybitFeed
    gateway: BybitGateway
    events: list[Event] = field(default_factory=list)
    book: OrderBook = field(default_factory=lambda: OrderBook(MARKET))
    book_ready: bool = False

    def emit(self, event: Event) -> None:  # what the engine does with the events, reduced to the book
        self.events.append(event)
        match event:
            case BookSnapshot():
                self.book.apply_snapshot(event)
                self.book_ready = True
            case BookDelta() if self.book_ready:
                self.book.apply_delta(event)
            case BookResyncRequired():
                self.book_ready = False

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def sim_levels(self) -> tuple[list, list]:
        sim = self.exchange.book(MARKET)
        return sim.levels(Side.BUY, 200), sim.levels(Side.SELL, 200)

    def book_equals_sim(self) -> bool:
        return self.book_ready and (self.book.levels(Side.BUY), self.book.levels(Side.SELL)) == self.sim_levels()

    async def until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached; last events: {self.events[-6:]}")
            await asyncio.sleep(0.01)


@asynccontextmanager
async def connected(sim_settings: SimSettings) -> AsyncIterator[Client]:
    exchange = SimExchange(sim_settings)
    server = BybitServer(exchange, api_key=API_KEY, api_secret=API_SECRET)
    await server.start()
    clock = LiveClock()
    rest = BybitRestClient(server.rest_url, clock=clock, auth=BybitAuth(API_KEY, API_SECRET, clock))
    fast_ws = {"backoff_initial_s": 0.05}
    feed = BybitFeed(rest, ws_url=server.ws_url, clock=clock, ws_options=fast_ws)
    gateway = BybitGateway(rest, ws_url=server.ws_url, clock=clock, markets=[MARKET], funding_poll_s=None,
                           private_stream_options=fast_ws)
    client = Client(server, exchange, feed, gateway)
    try:
        await feed.prepare([MARKET])
        await gateway.start(client.emit)
        await feed.start([MARKET], client.emit)
        await client.until(lambda: client.book_ready and client.of(FundingInfoUpdated))
        yield client
    finally:
        await feed.stop()
        await gateway.stop()
        await rest.close()
        await server.stop()
        exchange.close()


def order(cid: str, side: Side, order_type: OrderType, price: str | None, amount: str = "0.01", *,
          reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), MARKET, side, order_type, D(amount), None if price is None else D(price),
                        position_action=PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        reduce_only=reduce_only)


def test_rules_book_setup_orders_fills_positions_funding() -> None:
    async def main() -> None:
        async with connected(settings(funding_interval_s=2.0)) as c:
            rules = c.feed.trading_rules(MARKET)
            assert (rules.tick_size, rules.step_size, rules.min_notional, rules.quote) == (
                D("0.1"), D("0.001"), D("5"), "USDT")
            await c.until(c.book_equals_sim)
            info = c.of(FundingInfoUpdated)[-1].info
            assert info.mark_price == D("65000") and info.next_funding_ts > time.time() - 1
            gw = c.gateway
            for _ in range(2):  # idempotent: "not modified" is success
                await gw.set_position_mode(PositionMode.ONEWAY)
                await gw.set_margin_mode(MARKET, MarginMode.CROSS)
                await gw.set_leverage(MARKET, 5)
            assert c.exchange.leverage(MARKET) == 5
            assert gw.fee_rates(MARKET) == (D("0.0002"), D("0.0005"))

            # Place, list, cancel.
            await gw.place_order(order("pmm-e2e-1", Side.BUY, OrderType.LIMIT_MAKER, "60000"))
            await c.until(lambda: any(e.client_id == "pmm-e2e-1" for e in c.of(OrderAccepted)))
            (listed,) = await gw.open_orders(MARKET)
            assert (listed.client_id, listed.price, listed.amount, listed.order_type) == (
                "pmm-e2e-1", D("60000"), D("0.01"), OrderType.LIMIT_MAKER)
            await c.until(c.book_equals_sim)  # our resting order is in the venue's book and in ours
            await gw.cancel_order(MARKET, ClientOrderId("pmm-e2e-1"))
            await c.until(lambda: any(e.client_id == "pmm-e2e-1" for e in c.of(OrderCancelled)))
            assert await gw.open_orders(MARKET) == []

            # A PostOnly that would cross is rejected, not filled.
            try:
                await gw.place_order(order("pmm-e2e-2", Side.BUY, OrderType.LIMIT_MAKER, "65010"))
            except PostOnlyWouldCross:
                pass
            else:
                await c.until(lambda: any(e.client_id == "pmm-e2e-2" for e in c.of(OrderRejected)))
            assert await gw.open_orders(MARKET) == [] and await gw.positions() == []

            # A market buy: its execution message, the position, the balance.
            await gw.place_order(order("pmm-e2e-3", Side.BUY, OrderType.MARKET, None))
            await c.until(lambda: any(f.client_id == "pmm-e2e-3" and f.remaining == 0 for f in c.of(OrderFilled)))
            fills = [f for f in c.of(OrderFilled) if f.client_id == "pmm-e2e-3"]
            assert sum(f.amount for f in fills) == D("0.01")
            assert all(f.liquidity is Liquidity.TAKER and f.fee > 0 and f.price == D("65010") for f in fills)
            sim_fills = c.exchange.fills_since(0, MARKET)
            assert sorted((f.price, f.amount, f.fee) for f in fills) == sorted((f.price, f.amount, f.fee)
                                                                              for f in sim_fills)
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            (position,) = await gw.positions()
            assert (position.side, position.amount, position.entry_price) == (PositionSide.LONG, D("0.01"), D("65010"))
            await c.until(lambda: c.of(BalanceUpdated))
            venue_usdt = next(b for b in c.exchange.balances() if b.asset == "USDT")
            (usdt,) = [b for b in await gw.balances() if b.asset == "USDT"]
            assert usdt.total == venue_usdt.total
            reported = await gw.fills_since(0, MARKET)  # execution/list: the same executions, same ids
            assert {(f.trade_id, f.client_id, f.price, f.amount, f.fee) for f in reported} == \
                {(f.trade_id, f.client_id, f.price, f.amount, f.fee) for f in fills}

            # Funding on the open position (every 2 s here), from the transaction log.
            await c.until(lambda: c.of(FundingPaymentReceived), timeout=6.0)
            payment = c.of(FundingPaymentReceived)[0]
            sim_payment = next(p for p in c.exchange.funding_payments_since(0, MARKET)
                               if p.funding_time_ms == payment.funding_time_ms)
            assert (payment.amount, payment.rate, payment.position_amount, payment.mark_price) == (
                sim_payment.amount, sim_payment.rate, sim_payment.position_amount, sim_payment.mark_price)
            assert payment.amount < 0  # a long pays a positive rate
            backfilled = await gw.funding_payments_since(0, MARKET)
            assert {p.funding_time_ms for p in backfilled} <= \
                {p.funding_time_ms for p in c.exchange.funding_payments_since(0, MARKET)}
            assert payment.funding_time_ms in {p.funding_time_ms for p in backfilled}

            # Reduce-only close.
            await gw.place_order(order("pmm-e2e-4", Side.SELL, OrderType.MARKET, None, reduce_only=True))
            await c.until(lambda: any(e.position is None and e.side is PositionSide.LONG
                                      for e in c.of(PositionUpdated)[-2:]))
            assert await gw.positions() == []

    asyncio.run(main())


def test_gap_restart_and_dropped_private_socket_recover() -> None:
    async def main() -> None:
        async with connected(moving_settings()) as c:
            gw = c.gateway
            await c.until(lambda: c.of(BookDelta) and c.book_equals_sim())
            # A lost orderbook message: frozen, resubscribed, equal to the venue again.
            resyncs = len(c.of(BookResyncRequired))
            c.server.faults.skip_depth_update_ids(1)
            await c.until(lambda: len(c.of(BookResyncRequired)) > resyncs)
            await c.until(c.book_equals_sim)
            # The orderbook service restarts (u = 1): the book is reset, not declared broken.
            resyncs = len(c.of(BookResyncRequired))
            c.server.faults.restart_orderbook()
            await c.until(lambda: c.feed.book(MARKET).last_update_id < 5 and c.book_equals_sim())
            assert len(c.of(BookResyncRequired)) == resyncs
            mid = c.book.mid
            assert mid is not None
            low, high = str(int(mid * D("0.9"))), str(int(mid * D("1.1")))
            await gw.place_order(order("pmm-e2e-5", Side.BUY, OrderType.LIMIT_MAKER, low))
            await gw.place_order(order("pmm-e2e-6", Side.SELL, OrderType.LIMIT_MAKER, high))
            # The private socket drops while an order fills: the re-read finds the fill exactly once.
            accepted = len([e for e in c.of(ConnectionChanged) if e.stream == "account" and e.connected])
            c.server.faults.drop_sockets("private")
            await gw.place_order(order("pmm-e2e-7", Side.BUY, OrderType.MARKET, None))
            await c.until(lambda: len([e for e in c.of(ConnectionChanged)
                                       if e.stream == "account" and e.connected]) > accepted)
            await c.until(lambda: any(f.client_id == "pmm-e2e-7" for f in c.of(OrderFilled)))
            await asyncio.sleep(0.3)  # let the re-read and any late execution message land
            trade_ids = {f.trade_id for f in c.of(OrderFilled) if f.client_id == "pmm-e2e-7"}
            assert trade_ids == {f.trade_id for f in await gw.fills_since(0, MARKET)}
            filled = {f.trade_id: f.amount for f in c.of(OrderFilled) if f.client_id == "pmm-e2e-7"}
            assert sum(filled.values()) == D("0.01")  # the engine dedups by trade id: nothing lost, none twice
            (position,) = await gw.positions()
            assert position.side is PositionSide.LONG and position.amount == D("0.01")
            assert {o.client_id for o in await gw.open_orders(MARKET)} == {"pmm-e2e-5", "pmm-e2e-6"}
            await gw.cancel_all(MARKET)
            await c.until(lambda: {e.client_id for e in c.of(OrderCancelled)} >= {"pmm-e2e-5", "pmm-e2e-6"})

    asyncio.run(main())
