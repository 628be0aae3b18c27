"""The Binance client end to end against the Binance-dialect venue server on loopback.

`BinanceFeed` + `BinanceGateway` talk to `BinanceServer` over real HTTP and WebSockets, the server
runs the simulated exchange: the local book must equal the simulated venue's book (also after an
injected sequence gap), orders are placed, cancelled and filled with their ORDER_TRADE_UPDATE, the
position is read back, and a funding settlement arrives as a payment read from the income history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from test_client_fakes import wait_until

from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.feed import BinanceFeed
from pmm.connectors.binance_perpetual.gateway import BinanceGateway
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.binance_perpetual.server import BinanceServer, ServerOptions
from pmm.core.book import OrderBook
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
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
    MarginMode,
    OrderRequest,
    OrderType,
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
KEY = "e2eKey0123456789abcdef"
SECRET = "e2e-secret-0123456789"
MARKET = "BTC-USDT"


class PausableClock:
    """Real time that can be held still, so the simulated market stops while books are compared."""

    def __init__(self) -> None:
        self._held: float | None = None

    def now(self) -> float:
        return self._held if self._held is not None else time.time()

    def hold(self) -> None:
        self._held = time.time()

    def release(self) -> None:
        self._held = None


@dataclass
class Client:
    feed: BinanceFeed
    gateway: BinanceGateway
    server: BinanceServer
    exchange: SimExchange
    events: list[Any] = field(default_factory=list)
    book: OrderBook = field(default_factory=lambda: OrderBook(MARKET))
    ready: bool = False

    def emit(self, event: Any) -> None:
        """What the engine does with market events, enough to compare books."""
        self.events.append(event)
        if isinstance(event, BookSnapshot):
            self.book.apply_snapshot(event)
            self.ready = True
        elif isinstance(event, BookDelta) and self.ready:
            self.book.apply_delta(event)
        elif isinstance(event, BookResyncRequired):
            self.ready = False

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@asynccontextmanager
async def venue(settings: SimSettings, clock: Any = None) -> AsyncIterator[Client]:
    exchange = SimExchange(settings)
    server = BinanceServer(exchange, api_key=KEY, api_secret=SECRET, options=ServerOptions(tick_s=0.01), clock=clock)
    await server.start()
    client_clock = LiveClock()
    rest = BinanceRestClient(server.rest_url, clock=client_clock, auth=BinanceAuth(KEY, SECRET, client_clock))
    client = Client(BinanceFeed(rest, ws_url=server.ws_url, clock=client_clock),
                    BinanceGateway(rest, ws_url=server.ws_url, clock=client_clock, balance_refresh_s=0.05),
                    server, exchange)
    try:
        yield client
    finally:
        await client.feed.stop()
        await client.gateway.stop()
        await server.stop()
        exchange.close()


def run(coro: Any, timeout: float = 20.0) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


def static_settings(funding_interval_s: float = 8 * 3600.0) -> SimSettings:
    bids = tuple((D(p), D("2")) for p in ("64999.9", "64999.8", "64999.7"))
    asks = tuple((D(p), D("2")) for p in ("65000.1", "65000.2", "65000.3"))
    market = SimMarketSettings(MARKET, StaticMarket(bids=bids, asks=asks, funding_rate=D("0.0001")))
    return SimSettings(markets=(market,), balances={"USDT": D("10000")}, funding_interval_s=funding_interval_s)


def order(n: int, side: Side, order_type: OrderType, amount: str, price: str | None) -> OrderRequest:
    return OrderRequest(ClientOrderId(f"pmm-e2e00000-{n}"), MARKET, side, order_type, D(amount),
                        None if price is None else D(price))


async def books_equal(client: Client, clock: PausableClock) -> None:
    """Hold the venue still, then wait until the local book equals the simulated venue's."""
    clock.hold()
    try:
        sim = client.exchange.book(MARKET)

        def same() -> bool:
            return client.ready and all(client.book.levels(s) == sim.levels(s) for s in (Side.BUY, Side.SELL))

        await wait_until(same, timeout=3.0)
        assert not client.book.is_empty
    finally:
        clock.release()


def test_book_follows_the_venue_and_resyncs_after_a_gap() -> None:
    async def main() -> None:
        clock = PausableClock()
        settings = SimSettings(markets=(SimMarketSettings(MARKET, SyntheticMarket(
            book_interval_s=0.05, depth_levels=8, volatility=D("0.05"), trade_rate_per_min=600.0)),))
        async with venue(settings, clock) as client:
            await client.feed.start([MARKET], client.emit)
            assert client.feed.trading_rules(MARKET).tick_size == D("0.1")
            await wait_until(lambda: client.ready)
            await asyncio.sleep(0.3)  # several redraws of the book arrive as diffs
            await books_equal(client, clock)
            resyncs = len(client.of(BookResyncRequired))
            client.server.faults.skip_depth_update_ids(3)
            await wait_until(lambda: len(client.of(BookResyncRequired)) > resyncs)
            await wait_until(lambda: client.ready)
            await asyncio.sleep(0.2)
            await books_equal(client, clock)
            assert client.of(FundingInfoUpdated)

    run(main())


def test_orders_fills_positions_and_funding() -> None:
    async def main() -> None:
        async with venue(static_settings(funding_interval_s=3.0)) as client:
            gateway = client.gateway
            await gateway.start(client.emit)
            await gateway.set_position_mode(PositionMode.ONEWAY)
            await gateway.set_margin_mode(MARKET, MarginMode.CROSS)
            await gateway.set_leverage(MARKET, 5)
            assert {b.asset for b in await gateway.balances()} >= {"USDT"}

            # A resting post-only bid, listed, then cancelled by client id.
            resting = order(1, Side.BUY, OrderType.LIMIT_MAKER, "0.010", "64990.0")
            await gateway.place_order(resting)
            assert [r.client_id for r in await gateway.open_orders(MARKET)] == [resting.client_id]
            await gateway.cancel_order(MARKET, resting.client_id)
            await wait_until(lambda: any(e.client_id == resting.client_id for e in client.of(OrderCancelled)))
            assert await gateway.open_orders(MARKET) == []

            # A post-only bid at the ask would cross: refused one way or the other.
            crossing = order(2, Side.BUY, OrderType.LIMIT_MAKER, "0.010", "65000.1")
            try:
                await gateway.place_order(crossing)
                await wait_until(lambda: any(e.client_id == crossing.client_id for e in client.of(OrderRejected)))
            except PostOnlyWouldCross:
                pass

            # A market buy fills against the ask, reported by ORDER_TRADE_UPDATE and ACCOUNT_UPDATE.
            taker = order(3, Side.BUY, OrderType.MARKET, "0.010", None)
            await gateway.place_order(taker)
            await wait_until(lambda: sum(f.amount for f in client.of(OrderFilled)
                                         if f.client_id == taker.client_id) == D("0.010"))
            fills = [f for f in client.of(OrderFilled) if f.client_id == taker.client_id]
            assert fills[-1].remaining == 0 and fills[0].price == D("65000.1") and fills[0].fee > 0
            assert any(isinstance(e, OrderAccepted) and e.client_id == taker.client_id for e in client.events)
            await wait_until(lambda: any(u.position is not None and u.side is PositionSide.LONG
                                         for u in client.of(PositionUpdated)))
            [position] = await gateway.positions()
            assert (position.side, position.amount, position.leverage) == (PositionSide.LONG, D("0.010"), 5)
            assert position.entry_price == D("65000.1")
            history = await gateway.fills_since(time.time() - 60, MARKET)
            assert {f.trade_id for f in history} == {f.trade_id for f in fills}
            assert {f.client_id for f in history} == {taker.client_id}

            # The next funding settlement: ACCOUNT_UPDATE FUNDING_FEE, then the income row.
            await wait_until(lambda: bool(client.of(FundingPaymentReceived)), timeout=6.0)
            payment = client.of(FundingPaymentReceived)[0]
            assert payment.market == MARKET and payment.amount < 0  # a long pays a positive rate
            assert payment.rate == D("0.0001")
            assert payment.position_amount == D("0.01")
            [again] = [p for p in await gateway.funding_payments_since(time.time() - 60, MARKET)
                       if p.funding_time_ms == payment.funding_time_ms]
            assert again.amount == payment.amount

    run(main())
