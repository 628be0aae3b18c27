"""Bybit server: conditional orders (a create with `triggerPrice`), in Bybit's documented shapes —
Untriggered with stopOrderType Stop, listed by order/realtime (orderFilter StopOrder, not Order),
pushed on the order topic, refused when the trigger is already reached (110092 / 110093), left
alone by cancel-all with orderFilter Order, Deactivated by a cancel, and fired by the simulated
mark or last price: Triggered, then filled as a reduce-only market order that closes the position."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from test_server_bybit_kit import StepClock, Venue, run, running, static_settings

from pmm.core.events import FundingInfoUpdated, Trade
from pmm.core.model import FundingInfo, Side, TradeId

D = Decimal
MARKET = "BTC-USDT"


def _with(check):
    async def go():
        async with running(static_settings(), clock=StepClock()) as venue:
            venue.step()
            await check(venue)
    run(go())


async def _long(venue: Venue, qty: str = "0.5") -> None:
    assert (await venue.order("Buy", qty, link="open")).code == 0
    assert venue.exchange.positions()[0].amount == D(qty)


async def _stop(venue: Venue, trigger: str, direction: int, *, link: str = "stop-1", by: str = "MarkPrice",
                qty: str = "0.5", side: str = "Sell"):
    return await venue.order(side, qty, link=link, triggerPrice=trigger, triggerDirection=direction, triggerBy=by,
                             reduceOnly=True)


def _mark(venue: Venue, price: str) -> None:
    now = venue.clock.now()
    info = FundingInfo(MARKET, D(price), D(price), D("0.0001"), now + 3600)
    venue.server.stops.on_public(FundingInfoUpdated(info, now, now))


async def _settled(venue: Venue) -> None:
    for _ in range(200):  # the fired order is placed by a task of the trigger engine
        if not venue.exchange.positions():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the position is still open: {venue.exchange.positions()}")


def test_a_conditional_order_rests_untriggered_in_bybits_shape():
    async def check(venue: Venue):
        await _long(venue)
        ws = await venue.private(["order"])
        placed = await _stop(venue, "64000", 2)
        assert placed.code == 0, placed.body
        assert placed.result["orderLinkId"] == "stop-1"
        (row,) = await venue.open_orders(orderFilter="StopOrder")
        assert row["orderId"] == placed.result["orderId"]
        assert (row["orderStatus"], row["stopOrderType"], row["triggerPrice"], row["triggerDirection"],
                row["triggerBy"], row["orderType"], row["reduceOnly"], row["price"]) == (
            "Untriggered", "Stop", "64000.0", 2, "MarkPrice", "Market", True, "0")
        assert [r["orderLinkId"] for r in await venue.open_orders()] == ["stop-1"]  # linear: all kinds by default
        assert await venue.open_orders(orderFilter="Order") == []
        assert venue.exchange.open_orders() == []  # nothing in the simulated book until it fires
        pushed = await ws.until(lambda m: m.get("topic") == "order")
        assert pushed["data"][0]["orderStatus"] == "Untriggered" and pushed["data"][0]["stopOrderType"] == "Stop"
    _with(check)


def test_a_trigger_already_reached_is_refused():
    async def check(venue: Venue):
        falling = await _stop(venue, "65500", 2)  # the mark is 65000: a falling trigger above it
        assert falling.code == 110093 and "65500.0" in falling.body["retMsg"], falling.body
        rising = await _stop(venue, "64000", 1, side="Buy", link="stop-2")
        assert rising.code == 110092, rising.body
        missing = await venue.order("Sell", "0.5", link="stop-3", triggerPrice="64000")
        assert missing.code == 10001 and "TriggerDirection" in missing.body["retMsg"]
        index = await _stop(venue, "64000", 2, by="IndexPrice", link="stop-4")
        assert index.code == 10001
        assert await venue.open_orders() == []
    _with(check)


def test_cancel_deactivates_and_cancel_all_respects_the_order_filter():
    async def check(venue: Venue):
        await _long(venue)
        assert (await _stop(venue, "64000", 2)).code == 0
        assert (await venue.order("Buy", "0.01", "60000", tif="PostOnly", link="quote")).code == 0
        done = await venue.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT",
                                                         "orderFilter": "Order"})
        assert [r["orderLinkId"] for r in done.result["list"]] == ["quote"]
        assert [r["orderLinkId"] for r in await venue.open_orders()] == ["stop-1"]
        cancelled = await venue.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                          "orderLinkId": "stop-1"})
        assert cancelled.code == 0 and cancelled.result["orderLinkId"] == "stop-1"
        assert await venue.open_orders() == []
        (row,) = await venue.open_orders(orderLinkId="stop-1")
        assert (row["orderStatus"], row["cancelType"]) == ("Deactivated", "CancelByUser")
        assert venue.server.stops.triggers.live() == []
        _mark(venue, "63000")  # a deactivated stop never fires
        await asyncio.sleep(0.05)
        assert venue.exchange.positions()[0].amount == D("0.5")
        again = await venue.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                      "orderLinkId": "stop-1"})
        assert again.code == 110001
        # Without orderFilter, linear cancel-all takes the conditional orders too.
        assert (await _stop(venue, "64000", 2, link="stop-5")).code == 0
        done = await venue.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"})
        assert [r["orderLinkId"] for r in done.result["list"]] == ["stop-5"]
    _with(check)


def test_the_mark_crossing_fires_a_reduce_only_market_order_that_closes_the_position():
    async def check(venue: Venue):
        await _long(venue)
        ws = await venue.private(["order", "execution"])
        placed = await _stop(venue, "64000", 2)
        _mark(venue, "64500")  # not yet
        assert [r["orderStatus"] for r in await venue.open_orders()] == ["Untriggered"]
        _mark(venue, "63990")  # through the trigger
        await _settled(venue)
        (row,) = await venue.open_orders(orderLinkId="stop-1")
        assert row["orderId"] == placed.result["orderId"]
        assert (row["orderStatus"], row["cumExecQty"], row["stopOrderType"]) == ("Filled", "0.500", "Stop")
        statuses = []
        while "Filled" not in statuses:
            message = await ws.until(lambda m: m.get("topic") in ("order", "execution"))
            if message["topic"] == "order":
                statuses += [d["orderStatus"] for d in message["data"]]
        assert statuses[:2] == ["Untriggered", "Triggered"] and statuses[-1] == "Filled"
        executions = venue.server.ledger.executions
        assert executions[-1].link_id == "stop-1"
    _with(check)


def test_a_last_price_trigger_follows_trades_and_fails_with_nothing_to_close():
    async def check(venue: Venue):
        await _long(venue, "0.2")
        assert (await _stop(venue, "64000", 2, by="LastPrice", qty="0.2")).code == 0
        venue.server.stops.on_public(FundingInfoUpdated(
            FundingInfo(MARKET, D("63000"), D("63000"), D("0"), venue.clock.now() + 60), venue.clock.now(),
            venue.clock.now()))
        assert [r["orderStatus"] for r in await venue.open_orders()] == ["Untriggered"]  # the mark does not count
        # The position goes away first; then the trade through the trigger finds nothing to reduce.
        assert (await venue.order("Sell", "0.2", link="close", reduceOnly=True)).code == 0
        now = venue.clock.now()
        venue.server.stops.on_public(Trade(MARKET, TradeId("t1"), D("63900"), D("1"), Side.SELL, now, now))
        for _ in range(200):
            (row,) = await venue.open_orders(orderLinkId="stop-1")
            if row["orderStatus"] not in ("Untriggered", "Triggered"):
                break
            await asyncio.sleep(0.01)
        assert (row["orderStatus"], row["cancelType"]) == ("Cancelled", "CancelByReduceOnly")
        assert venue.exchange.positions() == []
    _with(check)
