"""BinanceGateway against a scripted fake venue on loopback: requests sent, events emitted."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from test_client_fakes import (
    API_KEY,
    API_SECRET,
    FakeBinance,
    Recorded,
    fixture,
    wait_until,
)

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.gateway import BinanceGateway
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BalanceUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
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
from pmm.errors import OrderError, PostOnlyWouldCross, VenueSetupError

D = Decimal
CID = ClientOrderId("pmm-1a2b3c4d-17")


def request(**overrides: Any) -> OrderRequest:
    base: dict[str, Any] = {"client_id": CID, "market": "BTC-USDT", "side": Side.BUY,
                            "order_type": OrderType.LIMIT_MAKER, "amount": D("0.010"), "price": D("25000.0")}
    base.update(overrides)
    return OrderRequest(**base)


def script_basics(fake: FakeBinance, hedge: bool = False) -> None:
    fake.reply("GET", c.TIME_PATH, lambda _: (200, {"serverTime": int(time.time() * 1000)}, {}))
    fake.reply("GET", c.POSITION_SIDE_DUAL_PATH, (200, {"dualSidePosition": hedge}, {}))
    fake.reply("POST", c.LISTEN_KEY_PATH, (200, fixture("rest_listen_key.json"), {}))
    fake.reply("PUT", c.LISTEN_KEY_PATH, (200, fixture("rest_listen_key.json"), {}))
    fake.reply("DELETE", c.LISTEN_KEY_PATH, (200, {}, {}))
    fake.reply("GET", c.COMMISSION_RATE_PATH, (200, fixture("rest_commission_rate.json"), {}))
    fake.reply("POST", c.ORDER_PATH, lambda r: (200, {"orderId": 8886774, "clientOrderId": r.param("newClientOrderId"),
                                                      "status": "NEW"}, {}))
    fake.reply("GET", c.ACCOUNT_PATH, (200, fixture("rest_account_v3.json"), {}))


def run(test: Callable[[FakeBinance, BinanceGateway, list[Any]], Awaitable[None]], hedge: bool = False) -> None:
    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        script_basics(fake, hedge)
        clock = LiveClock()
        rest = BinanceRestClient(fake.rest_url, clock=clock, auth=BinanceAuth(API_KEY, API_SECRET, clock))
        gateway = BinanceGateway(rest, ws_url=fake.ws_url, clock=clock, balance_refresh_s=0.01)
        events: list[Any] = []
        try:
            await gateway.start(events.append)
            await wait_until(lambda: gateway._stream.ws.connected)
            await test(fake, gateway, events)
            assert fake.bad_signatures == 0
        finally:
            await gateway.stop()
            await fake.stop()

    asyncio.run(main())


def params(rec: Recorded) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rec.query.split("&"))


def test_place_post_only_one_way_reduce_only() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        await gateway.place_order(request(reduce_only=True, side=Side.SELL, position_action=PositionAction.CLOSE))
        sent = params(fake.calls("POST", c.ORDER_PATH)[0])
        assert sent["symbol"] == "BTCUSDT" and sent["side"] == "SELL" and sent["type"] == "LIMIT"
        assert sent["timeInForce"] == "GTX" and sent["price"] == "25000" and sent["quantity"] == "0.01"
        assert sent["reduceOnly"] == "true" and "positionSide" not in sent
        assert sent["newClientOrderId"] == CID
        assert events[-1] == OrderAccepted(CID, "8886774", "BTC-USDT", events[-1].ts, events[-1].recv_ts)

    run(body)


def test_hedge_mode_sends_position_side_never_reduce_only() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        await gateway.place_order(request(order_type=OrderType.LIMIT, side=Side.SELL, reduce_only=True,
                                          position_action=PositionAction.CLOSE, position_side=PositionSide.LONG))
        await gateway.place_order(request(client_id=ClientOrderId("pmm-1a2b3c4d-18"), order_type=OrderType.MARKET,
                                          price=None, side=Side.SELL))
        limit, market = (params(r) for r in fake.calls("POST", c.ORDER_PATH))
        assert limit["positionSide"] == "LONG" and "reduceOnly" not in limit and limit["timeInForce"] == "GTC"
        assert market["positionSide"] == "SHORT" and market["type"] == "MARKET" and "price" not in market

    run(body, hedge=True)


def test_refusals_and_bad_ids() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        fake.reply("POST", c.ORDER_PATH, (400, {"code": -5022, "msg": "Post Only order will be rejected"}, {}))
        with pytest.raises(PostOnlyWouldCross):
            await gateway.place_order(request())
        sent = len(fake.requests)
        with pytest.raises(OrderError, match="client order id"):
            await gateway.place_order(request(client_id=ClientOrderId("has space")))
        assert len(fake.requests) == sent  # refused locally, never sent

    run(body)


def test_account_setup_treats_already_set_as_success() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        fake.reply("POST", c.POSITION_SIDE_DUAL_PATH, (400, {"code": -4059, "msg": "No need to change position side."},
                                                       {}))
        fake.reply("POST", c.MARGIN_TYPE_PATH, (400, {"code": -4046, "msg": "No need to change margin type."}, {}))
        fake.reply("POST", c.LEVERAGE_PATH, (200, fixture("rest_leverage.json"), {}))
        await gateway.set_position_mode(PositionMode.HEDGE)
        await gateway.set_margin_mode("BTC-USDT", MarginMode.ISOLATED)
        await gateway.set_leverage("BTC-USDT", 21)
        assert params(fake.calls("POST", c.POSITION_SIDE_DUAL_PATH)[0])["dualSidePosition"] == "true"
        assert params(fake.calls("POST", c.MARGIN_TYPE_PATH)[0])["marginType"] == "ISOLATED"
        assert params(fake.calls("POST", c.LEVERAGE_PATH)[0])["leverage"] == "21"
        fake.reply("POST", c.MARGIN_TYPE_PATH, (400, {"code": -4048, "msg": "Margin type cannot be changed"}, {}))
        with pytest.raises(VenueSetupError):
            await gateway.set_margin_mode("BTC-USDT", MarginMode.CROSS)
        await wait_until(lambda: gateway.fee_rates("BTC-USDT") == (D("0.0002"), D("0.0004")))

    run(body)


def test_cancel_by_client_id_and_cancel_all() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        fake.reply("DELETE", c.ORDER_PATH, (200, fixture("rest_cancel_order.json"), {}))
        fake.reply("DELETE", c.ALL_OPEN_ORDERS_PATH,
                   (200, {"code": 200, "msg": "The operation of cancel all open order is done."}, {}))
        await gateway.cancel_order("BTC-USDT", CID)
        assert params(fake.calls("DELETE", c.ORDER_PATH)[0])["origClientOrderId"] == CID
        assert isinstance(events[-1], OrderCancelled) and events[-1].client_id == CID
        await gateway.cancel_all("BTC-USDT")
        assert params(fake.calls("DELETE", c.ALL_OPEN_ORDERS_PATH)[0])["symbol"] == "BTCUSDT"

    run(body)


def test_user_stream_events_become_pmm_events() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        await gateway.place_order(request())
        for name in ("ws_order_trade_update_new.json", "ws_order_trade_update_partial_fill.json",
                     "ws_order_trade_update_filled.json", "ws_account_update_oneway_short.json"):
            await fake.push("private", fixture(name))
        await wait_until(lambda: any(isinstance(e, PositionUpdated) for e in events))
        fills = [e for e in events if isinstance(e, OrderFilled)]
        assert [f.remaining for f in fills] == [D("0.006"), D("0")]
        assert CID not in gateway._live  # completely filled: forgotten
        positions = [e for e in events if isinstance(e, PositionUpdated)]
        assert [(p.side, p.position is None) for p in positions] == [(PositionSide.SHORT, False),
                                                                     (PositionSide.LONG, True)]
        await wait_until(lambda: sum(isinstance(e, BalanceUpdated) for e in events) >= 3)  # event + REST refresh

    run(body)


def test_a_position_frame_older_than_the_last_is_dropped() -> None:
    """Frames out of order (a reconnect, a proxy): the newer flat position must not be overwritten."""
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        opened = fixture("ws_account_update_oneway_short.json")
        flat = copy.deepcopy(opened)
        flat["T"] = opened["T"] + 5
        flat["E"] = opened["E"] + 5
        for row in flat["a"]["P"]:
            row["pa"] = "0"
        await fake.push("private", flat)
        await fake.push("private", opened)  # stamped before `flat`, delivered after it
        await wait_until(lambda: gateway.stale_positions > 0)
        short = [e for e in events if isinstance(e, PositionUpdated) and e.side is PositionSide.SHORT]
        assert [e.position for e in short] == [None]  # the flat one only; the stale short never reached the engine
        await fake.push("private", dict(opened, T=flat["T"] + 1, E=flat["E"] + 1))  # a later open goes through
        await wait_until(lambda: sum(isinstance(e, PositionUpdated) and e.side is PositionSide.SHORT
                                     for e in events) == 2)
        assert [e for e in events if isinstance(e, PositionUpdated) and e.side is PositionSide.SHORT][-1].position

    run(body)


def test_funding_fee_update_reads_the_income() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        fake.reply("GET", c.INCOME_PATH, (200, fixture("rest_income_funding_fee.json"), {}))
        fake.reply("GET", c.FUNDING_RATE_PATH, (200, fixture("rest_funding_rate_history.json"), {}))
        fake.reply("POST", c.LEVERAGE_PATH, (200, fixture("rest_leverage.json"), {}))
        await gateway.set_leverage("BTC-USDT", 21)  # the gateway now follows BTC-USDT
        await fake.push("private", fixture("ws_account_update_funding_fee.json"))
        await wait_until(lambda: any(isinstance(e, FundingPaymentReceived) for e in events))
        [payment] = [e for e in events if isinstance(e, FundingPaymentReceived)]
        assert (payment.market, payment.funding_time_ms, payment.amount) == ("BTC-USDT", 1570636800000,
                                                                              D("-0.00342875"))
        income = params(fake.calls("GET", c.INCOME_PATH)[0])
        assert income["incomeType"] == "FUNDING_FEE" and income["symbol"] == "BTCUSDT"

    run(body)


def test_fills_since_finds_client_ids() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        fake.reply("GET", c.USER_TRADES_PATH, (200, fixture("rest_user_trades.json"), {}))
        fake.reply("GET", c.ORDER_PATH, (200, {"orderId": 25851813, "clientOrderId": "pmm-old-3", "status": "FILLED"},
                                         {}))
        [fill] = await gateway.fills_since(time.time() - 3600, "BTC-USDT")
        assert fill.client_id == "pmm-old-3" and fill.trade_id == "698759"
        assert params(fake.calls("GET", c.ORDER_PATH)[0])["orderId"] == "25851813"
        await gateway.fills_since(time.time() - 3600, "BTC-USDT")
        assert len(fake.calls("GET", c.ORDER_PATH)) == 1  # remembered

    run(body)


def test_reconnect_settles_orders_missed_while_down() -> None:
    async def body(fake: FakeBinance, gateway: BinanceGateway, events: list[Any]) -> None:
        await gateway.place_order(request())
        fake.reply("GET", c.POSITION_RISK_PATH, (200, [], {}))
        fake.reply("GET", c.OPEN_ORDERS_PATH, (200, [], {}))
        trade = dict(fixture("rest_user_trades.json")[0], orderId=8886774, side="BUY", qty="0.004",
                     positionSide="BOTH", time=int(time.time() * 1000))
        fake.reply("GET", c.USER_TRADES_PATH, (200, [trade], {}))
        await fake.drop("private")
        await wait_until(lambda: gateway._stream.ws.connections == 2, timeout=5)
        await wait_until(lambda: any(isinstance(e, OrderCancelled) for e in events))
        fill = next(e for e in events if isinstance(e, OrderFilled))
        assert fill.client_id == CID and fill.amount == D("0.004") and fill.remaining == D("0.006")
        positions = [e for e in events if isinstance(e, PositionUpdated)]
        assert {p.side for p in positions} == {PositionSide.LONG, PositionSide.SHORT}
        assert all(p.position is None for p in positions)

    run(body)
