"""Bybit server: create / cancel / cancel-all / realtime over the simulated exchange, PostOnly that
would take, reduce-only, hedge mode positionIdx, IOC/FOK, the rejection table, and account setup."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from test_server_bybit_kit import StepClock, Venue, run, running, static_settings

from pmm.connectors.bybit_perpetual.server.codes import REJECTIONS, refusal
from pmm.sim import validation
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

CANCEL = "/v5/order/cancel"


def _with(check, settings=None):
    async def go():
        async with running(settings or static_settings(), clock=StepClock()) as venue:
            venue.step()
            await check(venue)
    run(go())


async def _one(venue: Venue, **params) -> dict:
    rows = await venue.open_orders(**params)
    assert len(rows) == 1, rows
    return rows[0]


def test_post_only_rests_and_shows_as_new():
    async def check(venue: Venue):
        placed = await venue.order("Buy", "0.01", "64000", tif="PostOnly", link="pmm-1", positionIdx=0)
        assert placed.code == 0 and placed.body["retMsg"] == "OK"
        assert re.fullmatch(r"[0-9a-f-]{36}", placed.result["orderId"]) and placed.result["orderLinkId"] == "pmm-1"
        row = await _one(venue)
        assert row["orderId"] == placed.result["orderId"]
        assert (row["orderStatus"], row["timeInForce"], row["orderType"], row["side"]) == (
            "New", "PostOnly", "Limit", "Buy")
        assert (row["price"], row["qty"], row["leavesQty"], row["cumExecQty"], row["avgPrice"]) == (
            "64000.0", "0.010", "0.010", "0.000", "")
        assert row["positionIdx"] == 0 and row["reduceOnly"] is False and row["rejectReason"] == "EC_NoError"
        assert [o.client_id for o in venue.exchange.open_orders()] == ["pmm-1"]
    _with(check)


def test_post_only_that_would_take_is_accepted_then_cancelled():
    async def check(venue: Venue):
        ws = await venue.private(["order"])
        placed = await venue.order("Buy", "0.01", "65010", tif="PostOnly", link="pmm-cross")
        assert placed.code == 0, placed.body  # Bybit acks, then cancels: not a retCode error
        assert await venue.open_orders() == []
        row = await _one(venue, orderLinkId="pmm-cross")
        assert (row["orderStatus"], row["cancelType"], row["rejectReason"]) == (
            "Cancelled", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity")
        pushed = await ws.recv()
        assert pushed["topic"] == "order" and pushed["data"][0]["orderStatus"] == "Cancelled"
        assert pushed["data"][0]["rejectReason"] == "EC_PostOnlyWillTakeLiquidity"
        closed = await venue.open_orders(openOnly=1)
        assert [r["orderLinkId"] for r in closed] == ["pmm-cross"]
        assert venue.exchange.positions() == []
    _with(check)


def test_limit_and_market_orders_fill_and_build_the_position():
    async def check(venue: Venue):
        limit = await venue.order("Buy", "0.5", "65010", link="taker")
        assert limit.code == 0
        row = await _one(venue, orderLinkId="taker")
        assert (row["orderStatus"], row["cumExecQty"], row["avgPrice"]) == ("Filled", "0.500", "65010.00000000")
        # The static book does not deplete: the market order walks 1 at 65010, then 0.5 at 65020.
        market = await venue.order("Buy", "1.5", link="mkt")
        assert market.code == 0
        row = await _one(venue, orderLinkId="mkt")
        assert (row["orderStatus"], row["orderType"], row["timeInForce"], row["cumExecQty"]) == (
            "Filled", "Market", "IOC", "1.500")
        assert row["avgPrice"] == "65013.33333333"  # (65010 + 65020 / 2) / 1.5, 8 decimals
        assert Decimal(row["price"]) > Decimal("65020")  # the slippage-guarded IOC price
        [pos] = await venue.positions()
        assert (pos["side"], pos["size"], pos["positionIdx"]) == ("Buy", "2.000", 0)
        assert pos["avgPrice"] == "65012.50000000"
    _with(check)


def test_reduce_only():
    async def check(venue: Venue):
        refused = await venue.order("Sell", "0.01", reduceOnly=True)
        assert refused.code == 110017
        assert (await venue.order("Buy", "0.01")).code == 0
        closing = await venue.order("Sell", "0.02", reduceOnly=True, link="close")
        assert closing.code == 0
        row = await _one(venue, orderLinkId="close")
        # Only the 0.01 held could be reduced; the rest is cancelled by the reduce-only rule.
        assert (row["cumExecQty"], row["orderStatus"], row["cancelType"]) == ("0.010", "Cancelled",
                                                                              "CancelByReduceOnly")
        [pos] = await venue.positions()
        assert (pos["size"], pos["side"]) == ("0.000", "")
    _with(check)


def test_hedge_mode_and_position_idx():
    async def check(venue: Venue):
        mode = {"category": "linear", "symbol": "BTCUSDT", "mode": 3}
        assert (await venue.post("/v5/position/switch-mode", mode)).code == 0
        assert (await venue.post("/v5/position/switch-mode", mode)).code == 110025
        wrong = await venue.order("Buy", "0.01", positionIdx=0)
        assert wrong.code == 10001 and wrong.body["retMsg"] == "position idx not match position mode"
        assert (await venue.order("Buy", "0.02", positionIdx=1)).code == 0
        assert (await venue.order("Sell", "0.01", positionIdx=2)).code == 0
        rows = await venue.positions()
        assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [(1, "Buy", "0.020"), (2, "Sell", "0.010")]
        assert (await venue.order("Sell", "0.02", positionIdx=1, reduceOnly=True)).code == 0
        rows = await venue.positions()
        assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [(1, "", "0.000"), (2, "Sell", "0.010")]
        back = {"category": "linear", "symbol": "BTCUSDT", "mode": 0}
        assert (await venue.post("/v5/position/switch-mode", back)).code == 110024
        assert (await venue.order("Buy", "0.01", positionIdx=2, reduceOnly=True)).code == 0
        assert (await venue.order("Buy", "0.01", "60000", positionIdx=1)).code == 0
        assert (await venue.post("/v5/position/switch-mode", back)).code == 110028
    _with(check)


def test_cancel_by_order_id_or_link_id_and_cancel_all():
    async def check(venue: Venue):
        first = await venue.order("Buy", "0.01", "64000", link="a")
        await venue.order("Buy", "0.01", "63000", link="b")
        await venue.order("Sell", "0.01", "66000", link="c")
        by_id = {"category": "linear", "symbol": "BTCUSDT", "orderId": first.result["orderId"]}
        answer = await venue.post(CANCEL, by_id)
        assert answer.code == 0 and answer.result == first.result
        assert (await venue.post(CANCEL, by_id)).code == 110001  # already closed
        row = await _one(venue, orderLinkId="a")
        assert (row["orderStatus"], row["cancelType"], row["rejectReason"]) == (
            "Cancelled", "CancelByUser", "EC_PerCancelRequest")
        by_link = await venue.post(CANCEL, {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "b"})
        assert by_link.code == 0 and by_link.result["orderLinkId"] == "b"
        unknown = await venue.post(CANCEL, {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "zzz"})
        assert unknown.code == 110001 and unknown.body["retMsg"] == "Order does not exist."
        await venue.order("Buy", "0.01", "62000", link="d")
        everything = await venue.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"})
        assert everything.code == 0 and everything.result["success"] == "1"
        assert sorted(r["orderLinkId"] for r in everything.result["list"]) == ["c", "d"]
        assert await venue.open_orders() == [] and venue.exchange.open_orders() == []
        duplicate = await venue.order("Buy", "0.01", "61000", link="a")  # orderLinkId is unique for ever
        assert duplicate.code == 110072
    _with(check)


def test_ioc_and_fok():
    async def check(venue: Venue):
        assert (await venue.order("Buy", "1.5", "65010", tif="IOC", link="ioc")).code == 0
        row = await _one(venue, orderLinkId="ioc")
        assert (row["orderStatus"], row["cumExecQty"], row["rejectReason"]) == (
            "Cancelled", "1.000", "EC_NoImmediateQtyToFill")
        assert venue.exchange.open_orders() == []
        assert (await venue.order("Buy", "5", "65020", tif="FOK", link="fok-no")).code == 0
        row = await _one(venue, orderLinkId="fok-no")
        assert (row["orderStatus"], row["cumExecQty"], row["rejectReason"]) == (
            "Cancelled", "0.000", "EC_NoEnoughQtyToFill")
        assert (await venue.order("Buy", "1", "65020", tif="FOK", link="fok-yes")).code == 0
        row = await _one(venue, orderLinkId="fok-yes")
        assert (row["orderStatus"], row["cumExecQty"]) == ("Filled", "1.000")
    _with(check)


def test_the_rejection_table_covers_every_simulator_code():
    documented = set(re.findall(r"[a-z_]+", validation.__doc__.split("Rejection codes")[1].split(".")[0]))
    documented -= {"stable", "short", "ours"}
    assert documented == set(REJECTIONS)
    assert refusal("something new").ret_code == 10001


TIGHT = SimSettings(markets=(SimMarketSettings(
    "BTC-USDT", StaticMarket(bids=((Decimal("64990"), Decimal("1")),), asks=(), mark_price=Decimal("65000")),
    min_size=Decimal("0.01")),))


@pytest.mark.parametrize(("sim_code", "order", "expected"), [
    ("invalid_amount", ("Buy", "0", "64000"), 10001),
    ("off_step", ("Buy", "0.0105", "64000"), 10001),
    ("invalid_price", ("Buy", "0.01", "0"), 10001),
    ("off_tick", ("Buy", "0.01", "64000.05"), 10001),
    ("position_side_mismatch", ("Buy", "0.01", "64000", {"positionIdx": 1}), 10001),
    ("below_min_notional", ("Buy", "0.001", "1000"), 110094),
    ("reduce_only_rejected", ("Sell", "0.01", None, {"reduceOnly": True}), 110017),
    ("insufficient_margin", ("Buy", "10", "64000"), 110007),
    ("below_min_size", ("Buy", "0.005", "64000"), 10001),
    ("no_liquidity", ("Buy", "0.01", None), 0),
    ("post_only_would_cross", ("Sell", "0.01", "64990", {"timeInForce": "PostOnly"}), 0),
])
def test_each_simulator_rejection_as_bybit_answers_it(sim_code, order, expected):
    side, qty, price, *extra = order
    settings = TIGHT if sim_code in ("below_min_size", "no_liquidity") else static_settings()

    async def check(venue: Venue):
        seen = []
        venue.exchange.subscribe_private(lambda e: seen.append(getattr(e, "code", None)))
        answer = await venue.order(side, qty, price, link="case", **(extra[0] if extra else {}))
        assert sim_code in seen
        assert answer.code == expected == (REJECTIONS[sim_code].ret_code or 0), answer.body
        if expected == 0:
            row = await _one(venue, orderLinkId="case")
            assert row["orderStatus"] == "Cancelled"
            assert row["rejectReason"] == REJECTIONS[sim_code].reject_reason
        if sim_code == "below_min_notional":
            assert answer.body["retMsg"] == "Order does not meet minimum order value 5USDT"
    _with(check, settings)


def test_leverage_and_margin_mode():
    async def check(venue: Venue):
        lev = {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "20", "sellLeverage": "20"}
        answer = await venue.post("/v5/position/set-leverage", lev)
        assert (answer.code, answer.body["retMsg"]) == (110043, "Set leverage not modified")
        assert (await venue.post("/v5/position/set-leverage", lev | {"buyLeverage": "10", "sellLeverage": "10"}
                                 )).code == 0
        assert venue.exchange.leverage("BTC-USDT") == 10
        [pos] = await venue.positions()
        assert pos["leverage"] == "10" and pos["tradeMode"] == 0
        for bad in ("100", "10.5", "0"):
            assert (await venue.post("/v5/position/set-leverage", lev | {"buyLeverage": bad, "sellLeverage": bad}
                                     )).code == 10001
        margin = await venue.post("/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"})
        assert margin.code == 0 and margin.result == {"reasons": []}
        [pos] = await venue.positions()
        assert pos["tradeMode"] == 1
        info = await venue.get("/v5/account/info")
        assert info.result["marginMode"] == "ISOLATED_MARGIN" and info.result["unifiedMarginStatus"] >= 3
        switch = {"category": "linear", "symbol": "BTCUSDT", "tradeMode": 1, "buyLeverage": "10", "sellLeverage": "10"}
        assert (await venue.post("/v5/position/switch-isolated", switch)).code == 110026
        assert (await venue.post("/v5/position/switch-isolated", switch | {"tradeMode": 0})).code == 0
        portfolio = await venue.post("/v5/account/set-margin-mode", {"setMarginMode": "PORTFOLIO_MARGIN"})
        assert portfolio.code == 3400045 and portfolio.result["reasons"][0]["reasonMsg"]
        await venue.order("Buy", "0.01")
        busy = await venue.post("/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"})
        assert busy.code == 3400045
    _with(check)
