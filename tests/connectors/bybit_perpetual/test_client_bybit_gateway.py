"""The gateway and the private stream against the fake venue on 127.0.0.1: order bodies (PostOnly,
Market, reduceOnly, positionIdx in hedge mode), cancels by orderLinkId, account set-up with "not
modified" as success, private topics -> events, funding from the transaction log, history windows,
auth refused, ping/pong, reconnect -> account re-read."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from test_client_bybit_fakes import API_KEY, API_SECRET, FakeBybit, envelope, fixture

from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.gateway import BybitGateway
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BalanceUpdated,
    ConnectionChanged,
    Event,
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
from pmm.errors import AuthError, OrderError, UnknownOrder, VenueSetupError

D = Decimal
MARKET = "BTC-USDT"


class Sink(list):
    def __call__(self, event: Event) -> None:
        self.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self if isinstance(e, kind)]


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def _server_time(rec: Any) -> tuple[int, Any, dict[str, str]]:
    now_ms = int(time.time() * 1000)
    return 200, envelope({"timeSecond": str(now_ms // 1000), "timeNano": str(now_ms * 1_000_000)}), {}


def run(scenario: Callable[[FakeBybit, BybitGateway, Sink], Awaitable[None]], *, start: bool = True,
        fake_options: dict[str, Any] | None = None, **gateway_options: Any) -> None:
    async def main() -> None:
        fake = FakeBybit(**(fake_options or {}))
        fake.reply("GET", "/v5/market/time", _server_time)
        fake.reply("GET", "/v5/account/wallet-balance", (200, fixture("rest_wallet_balance.json"), {}))
        fee = fixture("rest_fee_rate.json")
        fee["result"]["list"][0]["symbol"] = "BTCUSDT"
        fake.reply("GET", "/v5/account/fee-rate", (200, fee, {}))
        await fake.start()
        clock = LiveClock()
        rest = BybitRestClient(fake.rest_url, clock=clock, auth=BybitAuth(API_KEY, API_SECRET, clock))
        options = {"private_stream_options": {"backoff_initial_s": 0.05}, "funding_poll_s": None}
        options.update(gateway_options)
        gateway = BybitGateway(rest, ws_url=fake.ws_url, clock=clock, markets=[MARKET], **options)
        sink = Sink()
        try:
            if start:
                await gateway.start(sink)
            await scenario(fake, gateway, sink)
        finally:
            await gateway.stop()
            await rest.close()
            await fake.stop()

    asyncio.run(main())


def request(cid: str, side: Side, order_type: OrderType, price: str | None, amount: str = "0.01", *,
            reduce_only: bool = False, position_side: PositionSide = PositionSide.BOTH) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), MARKET, side, order_type, D(amount), None if price is None else D(price),
                        position_action=PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        position_side=position_side, reduce_only=reduce_only)


def test_start_authenticates_and_subscribes_the_private_topics() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        auth, subscribe = fake.ws_frames["private"][:2]
        assert auth["op"] == "auth" and auth["args"][0] == API_KEY  # the fake checked its signature
        assert abs(auth["args"][1] - (time.time() + 10) * 1000) < 2000  # expires about 10 s ahead
        assert subscribe["op"] == "subscribe" and subscribe["args"] == ["order", "execution", "position", "wallet"]
        assert gateway.fee_rates(MARKET) == (D("0.0001"), D("0.0006"))
        assert [(e.stream, e.connected) for e in sink.of(ConnectionChanged)] == [("account", True)]

    run(scenario)


def test_refused_auth_is_an_auth_error_at_start(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        with pytest.raises(AuthError, match="private stream") as info:
            await gateway.start(sink)
        assert API_SECRET not in str(info.value)

    with caplog.at_level(logging.DEBUG):
        run(scenario, start=False, fake_options={"auth_ok": False})
    assert API_SECRET not in caplog.text


def test_order_bodies_one_way() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", "/v5/order/create", lambda rec: (200, envelope({"orderId": "111",
                                                                           "orderLinkId": rec.json()["orderLinkId"]}), {}))
        await gateway.place_order(request("pmm-ab12cd34-1", Side.BUY, OrderType.LIMIT_MAKER, "25000.50"))
        await gateway.place_order(request("pmm-ab12cd34-2", Side.SELL, OrderType.LIMIT, "26000"))
        await gateway.place_order(request("pmm-ab12cd34-3", Side.SELL, OrderType.MARKET, None, reduce_only=True))
        bodies = [r.json() for r in fake.calls("POST", "/v5/order/create")]
        assert bodies[0] == {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                             "qty": "0.01", "price": "25000.5", "timeInForce": "PostOnly", "positionIdx": 0,
                             "orderLinkId": "pmm-ab12cd34-1"}
        assert bodies[1]["timeInForce"] == "GTC" and bodies[1]["side"] == "Sell"
        assert bodies[2] == {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market",
                             "qty": "0.01", "positionIdx": 0, "orderLinkId": "pmm-ab12cd34-3", "reduceOnly": True}
        assert [e.client_id for e in sink.of(OrderAccepted)] == ["pmm-ab12cd34-1", "pmm-ab12cd34-2", "pmm-ab12cd34-3"]
        with pytest.raises(OrderError, match="orderLinkId"):
            await gateway.place_order(request("pmm:bad/id", Side.BUY, OrderType.LIMIT, "1"))

    run(scenario)


def test_hedge_mode_position_idx_and_setup_idempotence() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", "/v5/position/switch-mode", (200, envelope(), {}),
                   (200, envelope(code=110025, msg="Position mode is not modified"), {}))
        fake.reply("POST", "/v5/position/set-leverage", (200, envelope(code=110043, msg="leverage not modified"), {}))
        fake.reply("POST", "/v5/account/set-margin-mode",
                   (200, envelope(code=110026, msg="Cross/isolated margin mode is not modified"), {}))
        fake.reply("POST", "/v5/order/create", (200, envelope({"orderId": "9", "orderLinkId": "x"}), {}))
        for _ in range(2):
            await gateway.set_position_mode(PositionMode.HEDGE)
            await gateway.set_margin_mode(MARKET, MarginMode.CROSS)
            await gateway.set_leverage(MARKET, 5)
        assert fake.calls("POST", "/v5/position/switch-mode")[0].json() == \
            {"category": "linear", "symbol": "BTCUSDT", "mode": 3}
        assert fake.calls("POST", "/v5/position/set-leverage")[0].json() == \
            {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "5", "sellLeverage": "5"}
        assert fake.calls("POST", "/v5/account/set-margin-mode")[0].json() == {"setMarginMode": "REGULAR_MARGIN"}
        assert gateway.hedge_mode
        await gateway.place_order(request("pmm-h-1", Side.SELL, OrderType.LIMIT_MAKER, "26000"))  # opens a short
        await gateway.place_order(request("pmm-h-2", Side.BUY, OrderType.MARKET, None, reduce_only=True))  # closes it
        await gateway.place_order(request("pmm-h-3", Side.SELL, OrderType.MARKET, None, reduce_only=True,
                                          position_side=PositionSide.LONG))
        idx = [(r.json()["positionIdx"], r.json().get("reduceOnly")) for r in fake.calls("POST", "/v5/order/create")]
        assert idx == [(2, None), (2, True), (1, True)]
        fake.reply("POST", "/v5/position/switch-mode",
                   (200, envelope(code=110024, msg="You have an existing position"), {}))
        with pytest.raises(VenueSetupError):
            await gateway.set_position_mode(PositionMode.ONEWAY)

    run(scenario)


def test_cancel_by_order_link_id_and_unknown_order() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", "/v5/order/cancel", (200, envelope({"orderId": "1", "orderLinkId": "pmm-c-1"}), {}),
                   (200, fixture("rest_error_order_not_exist.json"), {}))
        await gateway.cancel_order(MARKET, ClientOrderId("pmm-c-1"))
        assert fake.calls("POST", "/v5/order/cancel")[0].json() == \
            {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "pmm-c-1"}
        assert sink.of(OrderCancelled) == []  # an acknowledgement only: the order topic confirms
        with pytest.raises(UnknownOrder):
            await gateway.cancel_order(MARKET, ClientOrderId("pmm-c-2"))
        await gateway.cancel_all(MARKET)
        # Active orders only: a resting stop keeps guarding the position after the bot's cancel-all.
        assert fake.calls("POST", "/v5/order/cancel-all")[0].json() == {"category": "linear", "symbol": "BTCUSDT",
                                                                         "orderFilter": "Order"}

    run(scenario)


def test_private_topics_become_events() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", "/v5/order/create", (200, envelope({"orderId": "1321003749386327552",
                                                               "orderLinkId": "pmm-1a2b3c4d-7"}), {}))
        await gateway.place_order(request("pmm-1a2b3c4d-7", Side.BUY, OrderType.LIMIT_MAKER, "16490"))
        await fake.push("private", fixture("ws_order_new.json"))
        await fake.push("private", fixture("ws_order_option_filled.json"))  # another category: ignored
        await fake.push("private", fixture("ws_execution_partial_fill.json"))
        await fake.push("private", fixture("ws_execution_partial_fill.json"))  # pushed again: dropped
        await fake.push("private", fixture("ws_execution_final_fill.json"))
        await fake.push("private", fixture("ws_position_oneway_long.json"))
        await fake.push("private", fixture("ws_wallet.json"))
        await until(lambda: sink.of(BalanceUpdated))
        fills = sink.of(OrderFilled)
        assert [(f.amount, f.remaining) for f in fills] == [(D("0.004"), D("0.006")), (D("0.006"), D("0"))]
        assert all(f.order_type is OrderType.LIMIT_MAKER and f.position_side is PositionSide.BOTH for f in fills)
        assert [e.client_id for e in sink.of(OrderAccepted)] == ["pmm-1a2b3c4d-7"] * 2
        positions = {e.side: e.position for e in sink.of(PositionUpdated)}
        assert positions[PositionSide.LONG] is not None and positions[PositionSide.SHORT] is None
        assert {e.balance.asset for e in sink.of(BalanceUpdated)} == {"USDC", "BTC", "USDT"}

    run(scenario)


def test_post_only_rejection_and_unreadable_message() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("GET", "/v5/position/list", (200, envelope({"list": [], "nextPageCursor": ""}), {}))
        fake.reply("GET", "/v5/order/realtime", (200, envelope({"list": [], "nextPageCursor": ""}), {}))
        await fake.push("private", fixture("ws_order_post_only_rejected.json"))
        await until(lambda: sink.of(OrderRejected))
        assert sink.of(OrderRejected)[0].code == "EC_PostOnlyWillTakeLiquidity"
        await fake.push("private", fixture("ws_order_unknown_status.json"))  # never guessed: re-read the venue
        await until(lambda: fake.calls("GET", "/v5/position/list"))

    run(scenario)


def test_funding_execution_reads_the_transaction_log() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        log_page = fixture("rest_transaction_log_settlement.json")
        log_page["result"]["nextPageCursor"] = ""
        for row in log_page["result"]["list"]:
            row["symbol"] = "BTCUSDT"
        fake.reply("GET", "/v5/account/transaction-log", (200, log_page, {}))
        await fake.push("private", fixture("ws_execution_funding.json"))
        await until(lambda: sink.of(FundingPaymentReceived))
        (payment,) = sink.of(FundingPaymentReceived)
        assert (payment.market, payment.funding_time_ms, payment.amount, payment.rate) == (
            MARKET, 1672128000000, D("-0.003676"), D("0.0001"))
        query = fake.calls("GET", "/v5/account/transaction-log")[0]
        for param in ("accountType=UNIFIED", "category=linear", "currency=USDT", "type=SETTLEMENT"):
            assert param in query.query
        assert sink.of(OrderFilled) == []  # a funding execution is not a fill
        await gateway.funding.fetch([MARKET])  # the poll finds nothing new: no duplicate
        assert len(sink.of(FundingPaymentReceived)) == 1

    run(scenario)


def test_history_reads_are_windowed_and_paginated() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        row = fixture("rest_execution_list.json")["result"]["list"][0]
        page1 = envelope({"list": [{**row, "symbol": "BTCUSDT", "execId": "e1"}], "nextPageCursor": "c1"})
        page2 = envelope({"list": [{**row, "symbol": "BTCUSDT", "execId": "e2", "execTime": "1672282722430"}],
                          "nextPageCursor": ""})
        empty = envelope({"list": [], "nextPageCursor": ""})
        fake.reply("GET", "/v5/execution/list", (200, page1, {}), (200, page2, {}), (200, empty, {}))
        fills = await gateway.fills_since(time.time() - 10 * 86400, MARKET)
        assert [f.trade_id for f in fills] == ["e1", "e2"]
        calls = fake.calls("GET", "/v5/execution/list")
        assert len(calls) == 3  # window 1: two pages; window 2: one
        assert calls[1].param("cursor") == "c1"
        starts = [int(c.param("startTime") or 0) for c in calls]
        ends = [int(c.param("endTime") or 0) for c in calls]
        assert ends[0] - starts[0] == 7 * 86400 * 1000 - 1 and starts[2] == ends[0] + 1

    run(scenario)


def test_positions_and_open_orders() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        rows = fixture("rest_position_list.json")["result"]["list"]
        fake.reply("GET", "/v5/position/list", (200, envelope({"list": [{**rows[0], "symbol": "BTCUSDT"}],
                                                               "nextPageCursor": ""}), {}))
        orders = fixture("rest_open_orders.json")
        orders["result"]["nextPageCursor"] = ""
        orders["result"]["list"][0]["symbol"] = "BTCUSDT"
        fake.reply("GET", "/v5/order/realtime", (200, orders, {}))
        (position,) = await gateway.positions()
        assert position.side is PositionSide.SHORT and position.amount == D("300")
        assert fake.calls("GET", "/v5/position/list")[0].query == "category=linear&symbol=BTCUSDT&limit=200"
        (order,) = await gateway.open_orders(MARKET)
        assert order.client_id == "test-000005" and order.position_side is PositionSide.LONG
        # Active orders only: resting stops are not quotes for reconciliation to cancel.
        assert "orderFilter=Order" in fake.calls("GET", "/v5/order/realtime")[0].query

    run(scenario)


def test_ping_is_sent_and_a_silent_socket_is_replaced() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("GET", "/v5/position/list", (200, envelope({"list": [], "nextPageCursor": ""}), {}))
        await until(lambda: any(f["op"] == "ping" for f in fake.ws_frames["private"]))
        fake.answer_pings = False
        await until(lambda: [e.connected for e in sink.of(ConnectionChanged)] == [True, False, True], timeout=5)
        assert "no data or pong" in sink.of(ConnectionChanged)[1].reason
        assert [f["op"] for f in fake.ws_frames["private"]].count("auth") == 2  # re-authenticated

    run(scenario, private_stream_options={"ping_interval_s": 0.15, "pong_timeout_s": 0.15,
                                          "backoff_initial_s": 0.05})


def test_reconnect_rereads_the_account_and_settles_a_vanished_order() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", "/v5/order/create", (200, envelope({"orderId": "1321003749386327552",
                                                               "orderLinkId": "pmm-1a2b3c4d-7"}), {}))
        await gateway.place_order(request("pmm-1a2b3c4d-7", Side.BUY, OrderType.LIMIT_MAKER, "16490"))
        position_row = {**fixture("ws_position_oneway_long.json")["data"][0]}
        fake.reply("GET", "/v5/position/list", (200, envelope({"list": [position_row], "nextPageCursor": ""}), {}))
        fake.reply("GET", "/v5/order/realtime", (200, envelope({"list": [], "nextPageCursor": ""}), {}))
        fill = {**fixture("ws_execution_final_fill.json")["data"][0], "execQty": "0.010", "leavesQty": "0"}
        fake.reply("GET", "/v5/execution/list", (200, envelope({"list": [fill], "nextPageCursor": ""}), {}))
        await fake.drop("private")  # the fill happened while the socket was down
        await until(lambda: sink.of(OrderFilled))
        (filled,) = sink.of(OrderFilled)
        assert filled.client_id == "pmm-1a2b3c4d-7" and filled.remaining == 0 and filled.amount == D("0.010")
        assert sink.of(OrderCancelled) == []  # fully filled, not cancelled
        assert any(e.position is not None and e.side is PositionSide.LONG for e in sink.of(PositionUpdated))
        assert sink.of(BalanceUpdated)

    run(scenario)
