"""pmm's Bitget client (feed, gateway, rest, streams) against the Bitget server on loopback, real time.

The contract suite (tests/connectors/test_contract.py) covers what every venue does; these tests
cover what is Bitget's own: the book checksum and seq, hedge-mode sides (side names the position,
tradeSide open / close), plan-order stops, funding read from bills after an account push, the
passphrase, and Bitget's refusals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from venue_servers import busy_market

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import BitgetAuth
from pmm.connectors.bitget_perpetual.feed import BitgetFeed
from pmm.connectors.bitget_perpetual.gateway import BitgetGateway
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient
from pmm.connectors.bitget_perpetual.server import BitgetServer
from pmm.connectors.common.server.triggers import TriggerOn, TriggerState
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookResyncRequired,
    BookSnapshot,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderAccepted,
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
from pmm.errors import AuthError, BelowMinSize, InsufficientMargin, OrderError, ReduceOnlyRejected, UnknownOrder
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

M = "BTC-USDT"
KEY, SECRET, PASSPHRASE = "bitget-client-key", "bitget-client-secret", "bitget-client-passphrase"


def static_settings(**overrides: Any) -> SimSettings:
    """BTC-USDT on a book that never moves: bids 64990 (1 BTC), 64980 (2); asks 65010 (1), 65020 (2);
    mark 65000, funding rate 0.0001."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))), mark_price=D("65000"),
                        funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(M, book),), balances={"USDT": D("10000")}, **overrides)


class Client:
    def __init__(self, server: BitgetServer, rest: BitgetRestClient, feed: BitgetFeed,
                 gateway: BitgetGateway) -> None:
        self.server, self.exchange, self.faults = server, server.exchange, server.faults
        self.rest, self.feed, self.gw = rest, feed, gateway
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
async def bitget(settings: Any = None, *, passphrase: str = PASSPHRASE, start: bool = True,
                 funding_poll_s: float | None = None) -> AsyncIterator[Client]:
    exchange = SimExchange(settings or static_settings())
    server = BitgetServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock())
    await server.start()
    clock = LiveClock()
    rest = BitgetRestClient(server.rest_url, clock=clock, auth=BitgetAuth(KEY, SECRET, passphrase, clock))
    feed = BitgetFeed(rest, ws_url=server.ws_url, clock=clock)
    gateway = BitgetGateway(rest, ws_url=server.ws_url, clock=clock, markets=[M], funding_poll_s=funding_poll_s,
                            funding_lookback_s=600.0)
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
          reduce_only: bool = False, position_side: PositionSide = PositionSide.BOTH) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), M, side, kind if price else OrderType.MARKET, D(amount),
                        D(price) if price else None, PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        position_side, reduce_only)


def test_rules_book_and_funding():
    async def scenario() -> None:
        async with bitget() as c:
            venue = c.exchange.trading_rules(M)
            rules = c.feed.trading_rules(M)
            assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
                venue.tick_size, venue.step_size, venue.min_size, venue.min_notional)
            await c.until(lambda: c.of(BookSnapshot) and c.of(FundingInfoUpdated))
            snap = c.of(BookSnapshot)[-1]
            assert snap.bids[0] == (D("64990"), D("1")) and snap.asks[1] == (D("65020"), D("2"))
            info = c.of(FundingInfoUpdated)[-1].info
            assert info.mark_price == D("65000") and info.rate == D("0.0001") and info.index_price > 0

    run(scenario)


def test_a_repeated_update_is_dropped_and_a_checksum_mismatch_resubscribes():
    async def scenario() -> None:
        async with bitget(busy_market()) as c:
            await c.until(lambda: c.of(BookSnapshot) and len(c.events) > 20)
            c.faults.duplicate_next_frames("depth", 2)  # the same seq again: already applied, no gap
            await asyncio.sleep(1.5)
            assert len(c.of(BookResyncRequired)) == 1, c.of(BookResyncRequired)  # only the start's
            snapshots = len(c.of(BookSnapshot))
            c.faults.reorder_next_frames("depth", 2)  # a later update first: the book misses one
            await c.until(lambda: len(c.of(BookResyncRequired)) >= 2)
            assert "checksum mismatch" in c.of(BookResyncRequired)[-1].reason
            assert c.feed.checksum_failures >= 1
            await c.until(lambda: len(c.of(BookSnapshot)) > snapshots and c.feed.book(M).live)
            assert c.feed.socket is not None and c.feed.socket.connections == 1  # resubscribed, not reconnected

    run(scenario)


def test_hedge_mode_opens_and_closes_with_bitget_sides():
    async def scenario() -> None:
        async with bitget() as c:
            await c.gw.set_position_mode(PositionMode.HEDGE)
            assert c.exchange.position_mode() is PositionMode.HEDGE
            body = await c.gw.order_body(order("pmm-h-0", Side.SELL, "0.01", reduce_only=True,
                                               position_side=PositionSide.LONG))
            assert (body["side"], body["tradeSide"]) == ("buy", "close") and "reduceOnly" not in body
            await c.gw.place_order(order("pmm-h-1", Side.BUY, "0.01"))
            await c.until(lambda: any(e.position is not None and e.side is PositionSide.LONG
                                      for e in c.of(PositionUpdated)))
            await c.gw.place_order(order("pmm-h-2", Side.SELL, "0.01", reduce_only=True,
                                         position_side=PositionSide.LONG))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-h-2"))
            (fill,) = c.of(OrderFilled, client_id="pmm-h-2")
            assert fill.side is Side.SELL and fill.position_side is PositionSide.LONG
            await c.until(lambda: c.exchange.positions() == [])
            assert await c.gw.positions() == []
            fills = await c.gw.fills_since(0, M)
            assert [(f.client_id, f.side) for f in fills] == [("pmm-h-1", Side.BUY), ("pmm-h-2", Side.SELL)]

    run(scenario)


def test_a_post_only_order_that_would_take_is_accepted_then_rejected_on_the_stream():
    async def scenario() -> None:
        async with bitget() as c:
            await c.gw.place_order(order("pmm-po-1", Side.BUY, "0.01", "65010"))
            await c.until(lambda: c.of(OrderRejected, client_id="pmm-po-1"))
            assert await c.gw.open_orders(M) == []

    run(scenario)


def test_refusals_below_minimum_and_without_margin():
    async def scenario() -> None:
        async with bitget() as c:
            with pytest.raises(BelowMinSize, match="not sent"):
                await c.gw.place_order(order("pmm-r-1", Side.BUY, "0.0004", "60000"))
            with pytest.raises(InsufficientMargin, match="43012"):
                await c.gw.place_order(order("pmm-r-2", Side.BUY, "100", "60000"))
            with pytest.raises(UnknownOrder, match="43001"):
                await c.gw.cancel_order(M, ClientOrderId("pmm-r-nope"))
            await c.gw.cancel_all(M)  # nothing open: Bitget's 22001 is not an error here

    run(scenario)


def test_a_plan_order_stop_rests_at_the_venue_and_closes_the_position_on_the_mark():
    async def scenario() -> None:
        async with bitget() as c:
            await c.gw.place_order(order("pmm-s-1", Side.BUY, "0.02"))
            await c.until(lambda: c.exchange.positions())
            plan_id = await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-1"), Side.SELL, D("0.02"), D("65500"))
            assert plan_id and await c.gw.resting_stop_orders(M) == ["pmm-stop-1"]
            (trigger,) = c.server.triggers.live(M)
            assert trigger.reduce_only and trigger.trigger_on is TriggerOn.MARK and trigger.rising
            c.server.triggers.on_price(M, TriggerOn.MARK, D("65600"))
            await c.until(lambda: c.exchange.positions() == [])
            assert trigger.state is TriggerState.TRIGGERED and await c.gw.resting_stop_orders(M) == []
            other = await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-2"), Side.SELL, D("0.02"), D("60000"))
            await c.gw.cancel_stop_order(M, ClientOrderId("pmm-stop-2"))
            assert c.server.triggers.by_id[other].state is TriggerState.CANCELED

    run(scenario)


def test_funding_payments_are_read_from_bills_after_an_account_push():
    async def scenario() -> None:
        settings = static_settings(funding_interval_s=2.0)
        async with bitget(settings) as c:
            await c.gw.place_order(order("pmm-f-1", Side.BUY, "0.01"))
            await c.until(lambda: c.of(FundingPaymentReceived), timeout=30)
            payment = c.of(FundingPaymentReceived)[0]
            (venue,) = [p for p in c.exchange.funding_payments_since(0) if p.funding_time_ms == payment.funding_time_ms]
            assert (payment.amount, payment.rate) == (venue.amount, venue.rate)
            assert payment.amount < 0  # a long pays at a positive rate

    run(scenario)


def test_margin_mode_and_leverage_reach_the_venue():
    async def scenario() -> None:
        async with bitget() as c:
            await c.gw.set_margin_mode(M, MarginMode.ISOLATED)
            await c.gw.set_leverage(M, 7)
            await c.gw.set_leverage(M, 7)
            assert c.exchange.margin_mode(M) is MarginMode.ISOLATED and c.exchange.leverage(M) == 7
            body = await c.gw.order_body(order("pmm-m-1", Side.BUY, "0.01", "60000"))
            assert body["marginMode"] == spec.MARGIN_ISOLATED and body["force"] == "post_only"

    run(scenario)


def test_a_wrong_passphrase_is_an_auth_error_before_any_order():
    async def scenario() -> None:
        async with bitget(passphrase="wrong", start=False) as c:
            with pytest.raises(AuthError, match="40012"):
                await c.gw.start(c.events.append)
            assert not c.of(OrderAccepted)

    run(scenario)


def test_tpsl_orders_close_the_position_they_guard():
    async def scenario() -> None:
        async with bitget() as c:
            body = {"marginCoin": "USDT", "productType": "USDT-FUTURES", "symbol": "BTCUSDT", "planType": "pos_loss",
                    "triggerPrice": "64000", "triggerType": "mark_price", "holdSide": "buy"}
            with pytest.raises(ReduceOnlyRejected, match="40837"):  # nothing to guard yet
                await c.rest.post(spec.PLACE_TPSL_PATH, body, order_call=True)
            await c.gw.place_order(order("pmm-t-1", Side.BUY, "0.02"))
            await c.until(lambda: c.exchange.positions())
            with pytest.raises(OrderError, match="40834"):  # a long's stop-loss above the mark
                await c.rest.post(spec.PLACE_TPSL_PATH, {**body, "triggerPrice": "66000"}, order_call=True)
            placed = await c.rest.post(spec.PLACE_TPSL_PATH, body, order_call=True)
            listed = await c.rest.get(spec.PLAN_PENDING_PATH, [("productType", "USDT-FUTURES"),
                                                               ("planType", "profit_loss")])
            assert [(r["orderId"], r["planType"]) for r in listed["entrustedList"]] == [(placed["orderId"], "pos_loss")]
            assert await c.gw.resting_stop_orders(M) == []  # normal plan orders only
            c.server.triggers.on_price(M, TriggerOn.MARK, D("63900"))
            await c.until(lambda: c.exchange.positions() == [])

    run(scenario)
