"""pmm's BitMart client (feed, gateway, rest, streams) against the BitMart server on loopback, real time.

The contract suite (tests/connectors/test_contract.py) covers what every venue does; these tests
cover what is BitMart's own: contracts vs base units, the depth version rule and `request`, side
numbers in hedge mode, fills completed from trade rows, funding from transactions, the per-symbol
cancel-all-after, plan-order stops, rate-limit headers, the memo, and BitMart's failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from venue_servers import busy_market

from pmm.connectors.bitmart_perpetual import rest as bitmart_rest
from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.auth import BitmartAuth
from pmm.connectors.bitmart_perpetual.feed import BitmartFeed
from pmm.connectors.bitmart_perpetual.gateway import BitmartGateway
from pmm.connectors.bitmart_perpetual.gateway_events import POST_ONLY_REASON
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient
from pmm.connectors.bitmart_perpetual.server import BitmartServer
from pmm.connectors.common.server.triggers import TriggerOn
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookResyncRequired,
    BookSnapshot,
    ConnectionChanged,
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
from pmm.errors import AuthError, BelowMinSize, ExchangeUnavailable, OrderOutcomeUnknown, ReduceOnlyRejected
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

M = "BTC-USDT"
KEY, SECRET, MEMO = "bitmart-client-key", "bitmart-client-secret", "bitmart-client-memo"


def static_settings(**overrides: Any) -> SimSettings:
    """BTC-USDT on a book that never moves: bids 64990 (1 BTC), 64980 (2); asks 65010 (1), 65020 (2);
    mark 65000, funding rate 0.0001. The size step 0.001 BTC is one BitMart contract."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))), mark_price=D("65000"),
                        funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(M, book),), balances={"USDT": D("10000")}, **overrides)


class Client:
    def __init__(self, server: BitmartServer, rest: BitmartRestClient, feed: BitmartFeed,
                 gateway: BitmartGateway) -> None:
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

    async def open_rows(self) -> list[dict[str, Any]]:
        return await self.rest.get(spec.OPEN_ORDERS_PATH, [("symbol", "BTCUSDT")])


@asynccontextmanager
async def bitmart(settings: Any = None, *, memo: str = MEMO, start: bool = True) -> AsyncIterator[Client]:
    exchange = SimExchange(settings or static_settings())
    server = BitmartServer(exchange, api_key=KEY, api_secret=SECRET, api_memo=MEMO, clock=LiveClock())
    await server.start()
    clock = LiveClock()
    rest = BitmartRestClient(server.rest_url, clock=clock, auth=BitmartAuth(KEY, SECRET, memo, clock))
    feed = BitmartFeed(rest, ws_url=server.ws_url, clock=clock)
    gateway = BitmartGateway(rest, ws_url=server.ws_url, clock=clock, markets=[M], funding_poll_s=None)
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


def test_rules_book_and_funding_are_in_base_units():
    async def scenario() -> None:
        async with bitmart() as c:
            venue_rules = c.exchange.trading_rules(M)
            rules = c.feed.trading_rules(M)
            assert (rules.tick_size, rules.step_size, rules.min_size) == (
                venue_rules.tick_size, venue_rules.step_size, venue_rules.min_size)
            await c.until(lambda: c.of(BookSnapshot) and c.of(FundingInfoUpdated))
            snap = c.of(BookSnapshot)[-1]
            assert snap.bids[0] == (D("64990"), D("1")) and snap.asks[1] == (D("65020"), D("2"))
            info = c.of(FundingInfoUpdated)[-1].info
            assert info.mark_price == D("65000") and info.rate == D("0.0001") and info.index_price > 0

    run(scenario)


def test_a_version_gap_freezes_the_book_and_a_request_brings_a_snapshot_on_the_same_socket():
    async def scenario() -> None:
        async with bitmart(busy_market()) as c:
            await c.until(lambda: c.of(BookSnapshot) and len(c.events) > 20)
            c.faults.duplicate_next_frames("depth", 1)  # an old version again: dropped, no gap
            await asyncio.sleep(1.0)
            assert len(c.of(BookResyncRequired)) == 1, c.of(BookResyncRequired)  # only the start's
            snapshots = len(c.of(BookSnapshot))
            c.faults.skip_depth_update_ids(2)
            await c.until(lambda: len(c.of(BookResyncRequired)) >= 2)
            assert "version" in c.of(BookResyncRequired)[-1].reason
            await c.until(lambda: len(c.of(BookSnapshot)) > snapshots and c.feed.book(M).live)
            assert c.feed.socket is not None and c.feed.socket.connections == 1  # requested, not reconnected

    run(scenario)


def test_maker_only_order_in_contracts_and_cancel_through_the_private_stream():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.set_leverage(M, 4)
            await c.gw.place_order(order("pmm-ab12cd34-1", Side.BUY, "0.05", "64000"))
            await c.until(lambda: c.of(OrderAccepted, client_id="pmm-ab12cd34-1"))
            (row,) = await c.open_rows()
            assert (row["client_order_id"], row["size"], row["side"], row["open_type"], row["leverage"]) == (
                "pmmZab12cd34Z1", "50", 1, "cross", "4")
            (desk_order,) = c.server.desk.open_orders(M)
            assert desk_order.extra["mode"] == spec.MODE_MAKER_ONLY
            await c.gw.cancel_order(M, ClientOrderId("pmm-ab12cd34-1"))
            await c.until(lambda: c.of(OrderCancelled, client_id="pmm-ab12cd34-1"))
            assert await c.gw.open_orders(M) == []
            with pytest.raises(BelowMinSize):
                await c.gw.place_order(order("pmm-tiny", Side.BUY, "0.0009", "64000"))

    run(scenario)


def test_a_maker_only_order_that_would_take_is_rejected_not_cancelled():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.place_order(order("pmm-po-1", Side.BUY, "0.001", "65010"))
            await c.until(lambda: c.of(OrderRejected, client_id="pmm-po-1"))
            assert c.of(OrderRejected, client_id="pmm-po-1")[0].reason == POST_ONLY_REASON
            assert not c.of(OrderCancelled, client_id="pmm-po-1")

    run(scenario)


def test_a_fill_carries_the_trade_rows_pnl_and_funding_comes_from_transactions():
    async def scenario() -> None:
        async with bitmart(static_settings(funding_interval_s=2.0)) as c:
            await c.gw.set_leverage(M, 5)
            await c.gw.place_order(order("pmm-f-1", Side.BUY, "0.012"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-f-1"))
            (fill,) = c.of(OrderFilled, client_id="pmm-f-1")
            assert (fill.amount, fill.remaining, fill.price, fill.liquidity) == (D("0.012"), D("0"), D("65010"),
                                                                                 Liquidity.TAKER)
            (venue_fill,) = c.exchange.fills_since(0)
            assert fill.fee == venue_fill.fee > 0
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            await c.gw.place_order(order("pmm-f-2", Side.SELL, "0.012", reduce_only=True))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-f-2"))
            (close,) = c.of(OrderFilled, client_id="pmm-f-2")
            closing = [f for f in c.exchange.fills_since(0) if f.side is Side.SELL][0]
            assert close.realized_pnl == closing.realized_pnl != 0  # not in the push: from the trade rows
            assert [(h.trade_id, h.amount) for h in await c.gw.fills_since(0, M)] == [
                (fill.trade_id, fill.amount), (close.trade_id, close.amount)]
            await c.gw.place_order(order("pmm-f-3", Side.BUY, "0.004"))
            await c.until(lambda: c.of(FundingPaymentReceived), timeout=20)
            paid = {p.funding_time_ms: p for p in c.exchange.funding_payments_since(0)}
            got = c.of(FundingPaymentReceived)[0]
            assert got.amount == paid[got.funding_time_ms].amount and got.rate == D("0.0001")
            assert got.position_amount == D("0.004")

    run(scenario)


def test_hedge_mode_with_isolated_margin_uses_the_side_numbers():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.set_position_mode(PositionMode.HEDGE)
            await c.gw.set_margin_mode(M, MarginMode.ISOLATED)
            await c.gw.set_leverage(M, 3)
            assert c.exchange.position_mode() is PositionMode.HEDGE and c.exchange.leverage(M) == 3
            await c.gw.place_order(order("pmm-h-1", Side.SELL, "0.002"))  # 4: sell, open short
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            (short,) = await c.gw.positions()
            assert (short.side, short.amount, short.margin_mode) == (PositionSide.SHORT, D("0.002"),
                                                                     MarginMode.ISOLATED)
            await c.gw.place_order(order("pmm-h-2", Side.BUY, "0.002", reduce_only=True,
                                         position_side=PositionSide.SHORT))  # 2: buy, close short
            await c.until(lambda: any(e.position is None and e.side is PositionSide.SHORT
                                      for e in c.of(PositionUpdated)))
            assert await c.gw.positions() == []
            sides = [o.extra["side"] for o in c.server.desk.orders()]
            assert sides == [4, 2]

    run(scenario)


def test_cancel_all_after_arms_and_disarms_the_symbols_switch():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.arm_dead_man_switch(M, 2)  # BitMart's minimum is 5 s
            deadline = c.server.dead_men["BTCUSDT"].deadline
            assert deadline is not None and 4 < deadline - c.server.clock.now() <= 5
            await c.gw.disarm_dead_man_switch(M)
            assert c.server.dead_men["BTCUSDT"].deadline is None

    run(scenario)


def test_a_reduce_only_stop_rests_as_a_plan_order_and_fires_on_the_fair_price():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.place_order(order("pmm-s-1", Side.BUY, "0.003"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            plan_id = await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-1"), Side.SELL, D("0.003"), D("50000"))
            (resting,) = c.server.triggers.live(M)
            assert (resting.algo_id, resting.reduce_only, resting.trigger_on, resting.rising) == (
                plan_id, True, TriggerOn.MARK, False)
            later = BitmartGateway(c.rest, ws_url=c.server.ws_url, clock=LiveClock(), markets=[M], funding_poll_s=None)
            assert await later.resting_stop_orders(M) == [ClientOrderId("pmm-stop-1")]
            await later.cancel_stop_order(M, ClientOrderId("pmm-stop-1"))
            assert c.server.triggers.live(M) == []
            await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-3"), Side.SELL, D("0.003"), D("64000"))
            c.server.triggers.on_price(M, TriggerOn.MARK, D("63990"))  # the mark falls through the stop
            await c.until(lambda: any(e.position is None for e in c.of(PositionUpdated)))
            assert await c.gw.positions() == []

    run(scenario)


def test_a_wrong_memo_stops_the_start_with_an_auth_error():
    async def scenario() -> None:
        async with bitmart(memo="not-it", start=False) as c:
            with pytest.raises(AuthError, match="memo"):  # REST GETs are KEYED: the login finds it
                await c.gw.start(c.events.append)

    run(scenario)


def test_refusals_that_are_not_rejections():
    async def scenario() -> None:
        async with bitmart() as c:
            c.faults.fail_next(spec.SUBMIT_ORDER_PATH, 429)  # 30013: waited for and retried
            await c.gw.place_order(order("pmm-r-1", Side.BUY, "0.001", "60000"))
            c.faults.set_clock_offset(-75)  # 30007: the clock is measured again, then retried
            await c.gw.place_order(order("pmm-r-2", Side.BUY, "0.001", "60001"))
            c.faults.set_clock_offset(0)
            assert {r["client_order_id"] for r in await c.open_rows()} == {"pmmZrZ1", "pmmZrZ2"}
            c.faults.fail_next(spec.SUBMIT_ORDER_PATH, 500)
            with pytest.raises(OrderOutcomeUnknown):
                await c.gw.place_order(order("pmm-r-3", Side.BUY, "0.001", "60002"))
            with pytest.raises(ReduceOnlyRejected, match="40020"):
                await c.gw.place_order(order("pmm-r-4", Side.SELL, "0.001", reduce_only=True))

    run(scenario)


def test_rate_limit_headers_make_the_client_wait_instead_of_earning_a_30013():
    async def scenario() -> None:
        async with bitmart() as c:
            for _ in range(3):  # cancel-orders: 2 per 2 s; the third waits for the window
                await c.gw.cancel_all(M)
            budget = c.rest.limits.budget(spec.CANCEL_ORDERS_PATH)
            assert budget.limit == 2 and c.rest.limits.waits >= 1

    run(scenario)


def test_http_418_blocks_every_request_for_its_retry_after_without_sending(monkeypatch):
    monkeypatch.setattr(bitmart_rest, "IP_BAN_S", 300.0)

    async def scenario() -> None:
        async with bitmart() as c:
            c.faults.fail_next(spec.ASSETS_PATH, 418, retry_after=30)
            with pytest.raises(ExchangeUnavailable, match="418"):
                await c.gw.balances()
            assert 25 < c.rest.limits.ban_left() <= 30  # Retry-After, not the default
            with pytest.raises(ExchangeUnavailable, match="was not sent"):
                await c.gw.place_order(order("pmm-x-1", Side.BUY, "0.001", "60000"))
            assert c.exchange.open_orders() == []

    run(scenario)


def test_a_dropped_private_stream_reconnects_and_rereads_the_account():
    async def scenario() -> None:
        async with bitmart() as c:
            await c.gw.place_order(order("pmm-d-1", Side.BUY, "0.004"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            updates = len(c.of(PositionUpdated))
            c.faults.drop_sockets("private")
            await c.until(lambda: c.of(ConnectionChanged, stream="account", connected=False))
            await c.until(lambda: c.gw.stream.connections == 2 and len(c.of(PositionUpdated)) > updates + 1)
            latest = [e for e in c.of(PositionUpdated) if e.side is PositionSide.LONG][-1]
            assert latest.position is not None and latest.position.amount == D("0.004")

    run(scenario)


def test_a_fill_pushed_twice_is_reported_once(caplog):
    caplog.set_level("INFO", logger="pmm")

    async def scenario() -> None:
        async with bitmart() as c:
            c.faults.duplicate_next_frames("user", 20)
            await c.gw.place_order(order("pmm-u-1", Side.BUY, "0.005"))
            await c.until(lambda: any("pushed again" in m for m in caplog.messages))
            await asyncio.sleep(0.5)
            assert len(c.of(OrderFilled, client_id="pmm-u-1")) == 1

    run(scenario)
