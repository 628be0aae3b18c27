"""pmm's OKX client (feed, gateway, rest, streams) against the OKX server on loopback, real time.

The contract suite (tests/connectors/test_contract.py) covers what every venue does; these tests
cover what is OKX's own: contracts vs base units, the seqId chain, batches, cancel-all in batches,
amend, long/short mode, cancel-all-after, algo stops, funding from bills, and OKX's failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from venue_servers import busy_market

from pmm.connectors.common.server.triggers import TriggerOn
from pmm.connectors.okx_perpetual import rest as okx_rest
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.connectors.okx_perpetual.feed import OkxFeed
from pmm.connectors.okx_perpetual.gateway import OkxGateway
from pmm.connectors.okx_perpetual.rest import OkxRestClient
from pmm.connectors.okx_perpetual.server import OkxServer, ServerOptions
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
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderError,
    OrderOutcomeUnknown,
)
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

M = "BTC-USDT"
KEY, SECRET, PASSPHRASE = "okx-client-key", "okx-client-secret", "okx-client-passphrase"


def static_settings(**overrides: Any) -> SimSettings:
    """BTC-USDT on a book that never moves: bids 64990 (1 BTC), 64980 (2); asks 65010 (1), 65020 (2);
    mark 65000, funding rate 0.0001. The size step 0.001 BTC is one OKX contract."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))), mark_price=D("65000"),
                        funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(M, book),), balances={"USDT": D("10000")}, **overrides)


class Client:
    def __init__(self, server: OkxServer, rest: OkxRestClient, feed: OkxFeed, gateway: OkxGateway) -> None:
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

    async def pending(self) -> list[dict[str, Any]]:
        """The venue's open orders as OKX writes them."""
        return await self.rest.get(spec.ORDERS_PENDING_PATH, [("instType", spec.INST_TYPE)])


@asynccontextmanager
async def okx(settings: Any = None, *, passphrase: str = PASSPHRASE, start: bool = True,
              options: ServerOptions | None = None, ws_options: dict[str, Any] | None = None) -> AsyncIterator[Client]:
    exchange = SimExchange(settings or static_settings())
    server = OkxServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock(),
                       options=options)
    await server.start()
    clock = LiveClock()
    rest = OkxRestClient(server.rest_url, clock=clock, auth=OkxAuth(KEY, SECRET, passphrase, clock))
    feed = OkxFeed(rest, ws_url=server.ws_url, clock=clock, ws_options=ws_options)
    gateway = OkxGateway(rest, ws_url=server.ws_url, clock=clock, markets=[M], funding_poll_s=None)
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
        async with okx() as c:
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


def test_a_broken_seq_id_chain_freezes_the_book_and_resubscribes_for_a_snapshot():
    async def scenario() -> None:
        async with okx(busy_market()) as c:
            await c.until(lambda: c.of(BookSnapshot) and len(c.events) > 20)
            c.faults.duplicate_next_frames("depth", 1)  # the last update again: already applied, no gap
            await asyncio.sleep(1.0)
            assert len(c.of(BookResyncRequired)) == 1, c.of(BookResyncRequired)  # only the start's
            snapshots = len(c.of(BookSnapshot))
            c.faults.skip_depth_update_ids(1)  # a lost update: prevSeqId is not the last seqId
            await c.until(lambda: len(c.of(BookResyncRequired)) >= 2)
            assert "prevSeqId" in c.of(BookResyncRequired)[-1].reason
            await c.until(lambda: len(c.of(BookSnapshot)) > snapshots and c.feed.book(M).live)
            assert c.feed.socket is not None and c.feed.socket.connections == 1  # resubscribed, not reconnected

    run(scenario)


def test_a_socket_full_of_market_data_still_pings_so_okx_keeps_it():
    async def scenario() -> None:
        async with okx(busy_market(), options=ServerOptions(ws_idle_cutoff_s=1.0),
                       ws_options={"ping_interval_s": 0.3}) as c:
            await c.until(lambda: c.of(BookSnapshot))
            await asyncio.sleep(3.0)  # three idle cut-offs: data flows in, pings go out
            assert c.feed.socket is not None and c.feed.socket.connections == 1 and c.feed.socket.pings_sent >= 5
            assert not c.of(ConnectionChanged, stream="public", connected=False)

    run(scenario)


def test_post_only_amend_and_cancel_through_the_private_stream():
    async def scenario() -> None:
        async with okx() as c:
            await c.gw.place_order(order("pmm-ab12cd34-1", Side.BUY, "0.05", "64000"))
            await c.until(lambda: c.of(OrderAccepted, client_id="pmm-ab12cd34-1"))
            (row,) = await c.pending()
            assert (row["clOrdId"], row["sz"], row["ordType"], row["tdMode"]) == ("pmmZab12cd34Z1", "50", "post_only",
                                                                                  "cross")
            await c.gw.amend_order(M, ClientOrderId("pmm-ab12cd34-1"), price=D("64100"), amount=D("0.02"))
            await c.until(lambda: len(c.of(OrderAccepted, client_id="pmm-ab12cd34-1")) >= 3)
            (report,) = await c.gw.open_orders(M)
            assert (report.price, report.amount) == (D("64100"), D("0.02"))
            await c.gw.cancel_order(M, ClientOrderId("pmm-ab12cd34-1"))
            await c.until(lambda: c.of(OrderCancelled, client_id="pmm-ab12cd34-1"))
            assert await c.gw.open_orders(M) == []

    run(scenario)


def test_a_batch_gives_each_order_its_own_outcome_and_cancel_all_cancels_more_than_a_batch():
    async def scenario() -> None:
        async with okx() as c:
            requests = [order(f"pmm-b-{i}", Side.BUY, "0.001", str(60000 + i)) for i in range(24)]
            requests.insert(3, order("pmm-b-small", Side.BUY, "0.0004", "60000"))  # under one contract
            outcomes = await c.gw.place_orders(requests)
            assert isinstance(outcomes[3], BelowMinSize) and outcomes.count(None) == 24
            assert len(await c.pending()) == 24
            c.faults.reject_next_order(51008)  # the venue refuses one order of the next batch
            outcomes = await c.gw.place_orders([order("pmm-c-1", Side.BUY, "0.001", "59000"),
                                                order("pmm-c-2", Side.BUY, "0.001", "59001")])
            assert sum(isinstance(o, InsufficientMargin) for o in outcomes) == 1 and outcomes.count(None) == 1
            await c.gw.cancel_all(M)
            await c.until(lambda: len(c.of(OrderCancelled)) == 25)
            assert await c.pending() == []

    run(scenario)


def test_a_fill_its_position_history_and_funding_in_base_units():
    async def scenario() -> None:
        async with okx(static_settings(funding_interval_s=2.0)) as c:
            await c.gw.set_leverage(M, 5)
            await c.gw.place_order(order("pmm-f-1", Side.BUY, "0.012"))
            await c.until(lambda: c.of(OrderFilled, client_id="pmm-f-1"))
            (fill,) = c.of(OrderFilled, client_id="pmm-f-1")
            assert (fill.amount, fill.remaining, fill.price, fill.liquidity) == (D("0.012"), D("0"), D("65010"),
                                                                                 Liquidity.TAKER)
            (venue_fill,) = c.exchange.fills_since(0)
            assert fill.fee == venue_fill.fee > 0
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            (position,) = await c.gw.positions()
            assert (position.side, position.amount, position.leverage) == (PositionSide.LONG, D("0.012"), 5)
            (history,) = await c.gw.fills_since(0, M)
            assert (history.trade_id, history.amount, history.fee) == (fill.trade_id, fill.amount, fill.fee)
            await c.until(lambda: c.of(FundingPaymentReceived), timeout=20)
            paid = {p.funding_time_ms: p for p in c.exchange.funding_payments_since(0)}
            got = c.of(FundingPaymentReceived)[0]
            assert got.amount == paid[got.funding_time_ms].amount and got.position_amount == D("0.012")
            assert got.rate == D("0.0001")
            assert [p.funding_time_ms for p in await c.gw.funding_payments_since(0, M)] == sorted(paid)

    run(scenario)


def test_long_short_mode_with_isolated_margin():
    async def scenario() -> None:
        async with okx() as c:
            await c.gw.set_position_mode(PositionMode.HEDGE)
            await c.gw.set_margin_mode(M, MarginMode.ISOLATED)
            await c.gw.set_leverage(M, 3)
            assert c.exchange.position_mode() is PositionMode.HEDGE and c.exchange.leverage(M) == 3
            await c.gw.place_order(order("pmm-h-1", Side.SELL, "0.002"))  # opens a short
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            (short,) = await c.gw.positions()
            assert (short.side, short.amount, short.margin_mode) == (PositionSide.SHORT, D("0.002"),
                                                                     MarginMode.ISOLATED)
            await c.gw.place_order(order("pmm-h-2", Side.BUY, "0.002", reduce_only=True,
                                         position_side=PositionSide.SHORT))
            await c.until(lambda: any(e.position is None and e.side is PositionSide.SHORT
                                      for e in c.of(PositionUpdated)))
            assert await c.gw.positions() == []

    run(scenario)


def test_cancel_all_after_arms_and_disarms_the_venues_switch():
    async def scenario() -> None:
        async with okx() as c:
            await c.gw.arm_dead_man_switch(M, 4)  # OKX's minimum is 10 s
            deadline = c.server.dead_man.deadline
            assert deadline is not None and 9 < deadline - c.server.clock.now() <= 10
            await c.gw.disarm_dead_man_switch(M)
            assert c.server.dead_man.deadline is None

    run(scenario)


def test_a_reduce_only_stop_rests_at_the_venue_and_triggers_on_the_mark():
    async def scenario() -> None:
        async with okx() as c:
            await c.gw.place_order(order("pmm-s-1", Side.BUY, "0.003"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            algo_id = await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-1"), Side.SELL, D("0.003"), D("50000"))
            (resting,) = c.server.triggers.live(M)
            assert (resting.algo_id, resting.reduce_only, resting.trigger_price) == (algo_id, True, D("50000"))
            await c.gw.cancel_stop_order(M, ClientOrderId("pmm-stop-1"))
            assert c.server.triggers.live(M) == []
            with pytest.raises(OrderError, match="51304"):  # a stop-loss above the mark would fire at once
                await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-2"), Side.SELL, D("0.003"), D("65500"))
            await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-3"), Side.SELL, D("0.003"), D("64000"))
            c.server.triggers.on_price(M, TriggerOn.MARK, D("63990"))  # the mark falls through the stop
            await c.until(lambda: any(e.position is None for e in c.of(PositionUpdated)))
            assert await c.gw.positions() == []

    run(scenario)


def test_a_wrong_passphrase_stops_the_start_with_an_auth_error():
    async def scenario() -> None:
        async with okx(passphrase="not-it", start=False) as c:
            with pytest.raises(AuthError, match="passphrase"):
                await c.gw.start(c.events.append)

    run(scenario)


def test_refusals_that_are_not_rejections():
    async def scenario() -> None:
        async with okx() as c:
            c.faults.fail_next(spec.ORDER_PATH, 429)  # 50011: waited for and retried
            await c.gw.place_order(order("pmm-r-1", Side.BUY, "0.001", "60000"))
            c.faults.set_clock_offset(-45)  # 50102: the clock is measured again, then retried
            await c.gw.place_order(order("pmm-r-2", Side.BUY, "0.001", "60001"))
            c.faults.set_clock_offset(0)
            assert {r["clOrdId"] for r in await c.pending()} == {"pmmZrZ1", "pmmZrZ2"}
            c.faults.fail_next(spec.ORDER_PATH, 500)
            with pytest.raises(OrderOutcomeUnknown):
                await c.gw.place_order(order("pmm-r-3", Side.BUY, "0.001", "60002"))

    run(scenario)


def test_http_403_blocks_every_request_without_sending(monkeypatch):
    monkeypatch.setattr(okx_rest, "IP_BAN_S", 30.0)

    async def scenario() -> None:
        async with okx() as c:
            c.faults.fail_next(spec.BALANCE_PATH, 403)
            with pytest.raises(ExchangeUnavailable, match="403"):
                await c.gw.balances()
            with pytest.raises(ExchangeUnavailable, match="was not sent"):
                await c.gw.place_order(order("pmm-x-1", Side.BUY, "0.001", "60000"))
            assert c.exchange.open_orders() == []

    run(scenario)


def test_a_dropped_private_stream_reconnects_and_rereads_the_account():
    async def scenario() -> None:
        async with okx() as c:
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
        async with okx() as c:
            c.faults.duplicate_next_frames("user", 20)
            await c.gw.place_order(order("pmm-u-1", Side.BUY, "0.005"))
            await c.until(lambda: any("pushed again" in m for m in caplog.messages))
            assert len(c.of(OrderFilled, client_id="pmm-u-1")) == 1

    run(scenario)


def test_a_new_gateway_lists_the_stops_an_earlier_one_left_and_cancels_them_by_their_algo_id():
    async def scenario() -> None:
        async with okx() as c:
            await c.gw.place_order(order("pmm-s-1", Side.BUY, "0.003"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            await c.gw.place_stop_order(M, ClientOrderId("pmm-stop-ab-1"), Side.SELL, D("0.003"), D("50000"))
            # A new run's gateway: it never placed the stop, so it knows no algo id (OKX's cancel-algos
            # takes only algo ids) until it lists the resting stops.
            later = OkxGateway(c.rest, ws_url=c.server.ws_url, clock=LiveClock(), markets=[M], funding_poll_s=None)
            assert await later.resting_stop_orders(M) == [ClientOrderId("pmm-stop-ab-1")]
            await later.cancel_stop_order(M, ClientOrderId("pmm-stop-ab-1"))
            assert c.server.triggers.live(M) == []
            assert await later.resting_stop_orders(M) == []

    run(scenario)
