"""pmm's KuCoin client (feed, gateway, rest, streams) against the KuCoin server on loopback, real time.

The contract suite (tests/connectors/test_contract.py) covers what every venue does; these tests
cover what is KuCoin's own: bullet tokens, the level2 sequence and its REST-snapshot resync, lots vs
base units on the wire, a post-only order KuCoin cancels instead of refusing, stop orders, the
`gw-ratelimit-*` headers, and funding read from the funding history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from venue_servers import busy_market

from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.auth import KucoinAuth
from pmm.connectors.kucoin_perpetual.feed import KucoinFeed
from pmm.connectors.kucoin_perpetual.gateway import KucoinGateway
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient
from pmm.connectors.kucoin_perpetual.server import KucoinServer, ServerOptions
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
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import AuthError, BelowMinSize, InsufficientMargin, RateLimited
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

M = "BTC-USDT"
KEY, SECRET, PASSPHRASE = "kc-client-key", "kc-client-secret", "kc-client-passphrase"


def static_settings(**overrides: Any) -> SimSettings:
    """BTC-USDT on a book that never moves: bids 64990 (1 BTC), 64980 (2); asks 65010 (1), 65020 (2);
    mark 65000. The size step 0.001 BTC is one KuCoin lot."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))), mark_price=D("65000"),
                        funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(M, book),), balances={"USDT": D("10000")}, **overrides)


class Client:
    def __init__(self, server: KucoinServer, rest: KucoinRestClient, feed: KucoinFeed, gw: KucoinGateway) -> None:
        self.server, self.exchange, self.faults = server, server.exchange, server.faults
        self.rest, self.feed, self.gw = rest, feed, gw
        self.events: list[Any] = []

    def of(self, kind: type, **match: Any) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())]

    async def until(self, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"not within {timeout} s; last events: {self.events[-6:]}")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def kucoin(settings: Any = None, *, passphrase: str = PASSPHRASE, start: bool = True,
                 options: ServerOptions | None = None) -> AsyncIterator[Client]:
    exchange = SimExchange(settings or static_settings())
    server = KucoinServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock(),
                          options=options)
    await server.start()
    clock = LiveClock()
    rest = KucoinRestClient(server.rest_url, clock=clock, auth=KucoinAuth(KEY, SECRET, passphrase, clock))
    feed = KucoinFeed(rest, clock=clock)
    gateway = KucoinGateway(rest, clock=clock, markets=[M], funding_poll_s=None)
    client = Client(server, rest, feed, gateway)
    try:
        if start:
            await feed.prepare([M])
            await gateway.prepare([M])
            await gateway.start(client.events.append)
            await feed.start([M], client.events.append)
        yield client
    finally:
        await feed.stop()
        await gateway.stop()
        await rest.close()
        await server.stop()
        exchange.close()


def run(scenario: Callable[[], Any], timeout: float = 90.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(scenario(), timeout)

    asyncio.run(bounded())


def order(cid: str, side: Side, amount: str, price: str | None = None, *, kind: OrderType = OrderType.LIMIT_MAKER,
          reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), M, side, kind if price else OrderType.MARKET, D(amount),
                        D(price) if price else None, PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        PositionSide.BOTH, reduce_only)


def test_the_book_comes_from_the_rest_snapshot_and_follows_the_bullet_socket_in_base_units():
    async def scenario() -> None:
        async with kucoin() as c:
            await c.until(lambda: c.of(BookSnapshot) and c.of(FundingInfoUpdated))
            snap = c.of(BookSnapshot)[-1]
            assert snap.bids[0] == (D("64990"), D("1")) and snap.asks[1] == (D("65020"), D("2"))
            assert snap.update_id == c.server.streams.sequence["XBTUSDTM"]
            info = c.of(FundingInfoUpdated)[-1].info
            assert info.mark_price == D("65000") and info.rate == D("0.0001")
            assert info.next_funding_ts > c.server.clock.now()
            assert c.feed.socket is not None and c.feed.socket.ping_interval_s == 18.0  # from the bullet

    run(scenario)


def test_a_sequence_gap_freezes_the_book_and_a_new_rest_snapshot_resyncs_it():
    async def scenario() -> None:
        async with kucoin(busy_market()) as c:
            await c.until(lambda: c.of(BookSnapshot) and len(c.of(BookDelta)) > 10)
            c.faults.duplicate_next_frames("depth", 1)  # a change again: already applied, no gap
            await asyncio.sleep(0.5)
            assert len(c.of(BookResyncRequired)) == 1  # only the start's
            snapshots = len(c.of(BookSnapshot))
            c.faults.skip_depth_update_ids(2)
            await c.until(lambda: len(c.of(BookResyncRequired)) >= 2)
            assert "order book gap" in c.of(BookResyncRequired)[-1].reason
            await c.until(lambda: len(c.of(BookSnapshot)) > snapshots and c.feed.book(M).live)
            assert c.feed.socket is not None and c.feed.socket.connections == 1  # read again, not reconnected
            last = c.of(BookDelta)[-1].update_id
            await c.until(lambda: c.of(BookDelta)[-1].update_id > last)
            server_book = c.server.streams.published["XBTUSDTM"]
            assert c.feed.book(M).last_seq <= c.server.streams.sequence["XBTUSDTM"]
            assert server_book.levels(Side.BUY)  # the venue still has a book to follow

    run(scenario)


def test_orders_go_in_lots_and_a_post_only_that_would_take_is_cancelled_as_a_refusal():
    async def scenario() -> None:
        async with kucoin() as c:
            await c.gw.place_order(order("pmm-ab12cd34-1", Side.BUY, "0.0259", "64000"))
            await c.until(lambda: c.of(OrderAccepted, client_id="pmm-ab12cd34-1"))
            (desk_order,) = c.server.desk.open_orders()
            assert (desk_order.client_id, desk_order.qty, desk_order.tif.value) == ("pmm-ab12cd34-1", D("0.025"),
                                                                                   "post_only")
            await c.gw.place_order(order("pmm-ab12cd34-2", Side.BUY, "0.01", "65010"))
            await c.until(lambda: c.of(OrderRejected, client_id="pmm-ab12cd34-2"))
            assert "post-only" in c.of(OrderRejected, client_id="pmm-ab12cd34-2")[0].reason
            assert [o.client_id for o in await c.gw.open_orders(M)] == ["pmm-ab12cd34-1"]
            with pytest.raises(BelowMinSize):
                await c.gw.place_order(order("pmm-ab12cd34-3", Side.BUY, "0.0009", "64000"))
            with pytest.raises(InsufficientMargin):
                await c.gw.place_order(order("pmm-ab12cd34-4", Side.BUY, "900", "64000", kind=OrderType.LIMIT))
            await c.gw.cancel_all(M)
            await c.until(lambda: not c.server.desk.open_orders())

    run(scenario)


def test_a_fill_carries_the_fee_of_the_rate_and_the_close_its_fifo_pnl():
    async def scenario() -> None:
        async with kucoin() as c:
            await c.gw.set_margin_mode(M, MarginMode.CROSS)
            await c.gw.set_leverage(M, 5)
            await c.gw.place_order(order("pmm-cd-1", Side.BUY, "0.01"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-cd-1"))
            (fill,) = c.of(OrderFilled, client_id="pmm-cd-1")
            (venue_fill,) = c.exchange.fills_since(0)
            assert (fill.price, fill.amount, fill.fee, fill.realized_pnl) == (D("65010"), D("0.01"), venue_fill.fee, 0)
            await c.gw.place_order(order("pmm-cd-2", Side.SELL, "0.01", reduce_only=True))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-cd-2"))
            (close,) = c.of(OrderFilled, client_id="pmm-cd-2")
            venue_close = c.exchange.fills_since(0)[-1]
            assert close.realized_pnl == venue_close.realized_pnl == D("-0.2")  # (64990 - 65010) x 0.01
            await c.until(lambda: any(e.position is None for e in c.of(PositionUpdated)))
            assert c.exchange.leverage(M) == 5

    run(scenario)


def test_a_reduce_only_stop_rests_at_the_venue_and_fires_on_the_mark():
    async def scenario() -> None:
        async with kucoin() as c:
            await c.gw.place_order(order("pmm-st-1", Side.BUY, "0.01"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-st-1"))
            stop_id = await c.gw.place_stop_order(M, ClientOrderId("pmm-st-stop"), Side.SELL, D("0.01"), D("64000"))
            assert stop_id and await c.gw.resting_stop_orders(M) == ["pmm-st-stop"]
            (trigger,) = c.server.triggers.live()
            assert (trigger.rising, trigger.reduce_only, trigger.trigger_price) == (False, True, D("64000"))
            c.server.triggers.on_price(M, trigger.trigger_on, D("63990"))  # the mark falls through it
            await c.until(lambda: not c.exchange.positions())
            assert await c.gw.resting_stop_orders(M) == []

    run(scenario)


def test_the_rate_limit_pool_is_read_from_the_headers_and_a_429_waits_its_reset():
    async def scenario() -> None:
        async with kucoin(options=ServerOptions(pool=(5, 1.0))) as c:
            await c.rest.get(spec.ACCOUNT_OVERVIEW_PATH, [("currency", "USDT")])
            budget = c.rest.limits.budget("futures")
            assert budget.limit == 5 and budget.remaining is not None
            c.faults.fail_next(spec.ACCOUNT_OVERVIEW_PATH, 429, retry_after=0.2)
            await c.rest.get(spec.ACCOUNT_OVERVIEW_PATH, [("currency", "USDT")])  # retried after the reset
            c.faults.fail_next(spec.ACCOUNT_OVERVIEW_PATH, 429, retry_after=0.05, count=5)
            with pytest.raises(RateLimited, match="code 429000"):
                await c.rest.get(spec.ACCOUNT_OVERVIEW_PATH, [("currency", "USDT")])

    run(scenario)


def test_a_wrong_passphrase_stops_the_gateway_before_any_order():
    async def scenario() -> None:
        async with kucoin(passphrase="wrong", start=False) as c:
            with pytest.raises(AuthError, match="400004"):
                await c.gw.start(c.events.append)

    run(scenario)


def test_funding_settlements_are_read_from_the_funding_history():
    async def scenario() -> None:
        settings = busy_market(funding_interval_s=2.0)
        async with kucoin(settings) as c:
            await c.gw.place_order(order("pmm-fu-1", Side.BUY, "0.05"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-fu-1"))
            await c.until(lambda: c.of(FundingPaymentReceived), timeout=20)
            paid = c.of(FundingPaymentReceived)[0]
            venue = {p.funding_time_ms: p for p in c.exchange.funding_payments_since(0)}
            assert paid.amount == venue[paid.funding_time_ms].amount and paid.asset == "USDT"

    run(scenario)


def test_hedge_mode_orders_name_their_position_side_and_close_it():
    async def scenario() -> None:
        async with kucoin() as c:
            await c.gw.set_position_mode(PositionMode.HEDGE)
            assert c.gw.hedge_mode and c.exchange.position_mode() is PositionMode.HEDGE
            await c.gw.place_order(order("pmm-hd-1", Side.BUY, "0.01"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-hd-1"))
            (position,) = await c.gw.positions()
            assert (position.side, position.amount) == (PositionSide.LONG, D("0.01"))
            await c.gw.place_order(order("pmm-hd-2", Side.SELL, "0.01", reduce_only=True))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-hd-2"))
            (close,) = c.of(OrderFilled, client_id="pmm-hd-2")
            assert close.position_side is PositionSide.LONG and close.realized_pnl == D("-0.2")
            await c.until(lambda: not c.exchange.positions())
            await c.gw.set_position_mode(PositionMode.ONEWAY)
            assert c.exchange.position_mode() is PositionMode.ONEWAY

    run(scenario)


def test_an_order_push_without_client_oid_is_matched_by_its_order_id():
    """KuCoin's documented tradeOrders push carries no clientOid: the place answer's orderId names it."""
    async def scenario() -> None:
        async with kucoin() as c:
            documented = c.server.views.order_push

            def without_client_oid(*args: Any, **kwargs: Any) -> dict[str, Any]:
                row = documented(*args, **kwargs)
                row.pop("clientOid")
                return row

            c.server.views.order_push = without_client_oid  # type: ignore[method-assign]
            await c.gw.place_order(order("pmm-nc-1", Side.BUY, "0.01", "64000"))
            await c.until(lambda: c.of(OrderAccepted, client_id="pmm-nc-1"))
            await c.gw.cancel_order(M, ClientOrderId("pmm-nc-1"))
            await c.until(lambda: c.of(OrderCancelled, client_id="pmm-nc-1"))
            assert not [e for e in c.events if getattr(e, "client_id", "").startswith("kucoin-")]

    run(scenario)
