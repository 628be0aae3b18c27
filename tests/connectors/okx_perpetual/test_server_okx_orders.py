"""Order semantics of the OKX server over the order desk: time in force (ioc, fok, post_only,
market), reduce-only, cancel, amend, the cancel-all-after dead-man switch, and conditional algo
orders fired by the server when the last or mark price crosses."""

from __future__ import annotations

import asyncio
from typing import Any

from test_server_okx_kit import SYMBOL, Venue, run, running


def _with(check, **kwargs):
    async def go():
        async with running(**kwargs) as venue:
            await check(venue)
    run(go())


async def _order(venue: Venue, order_id: str) -> dict[str, Any]:
    answer = await venue.get("/api/v5/trade/order", {"instId": SYMBOL, "ordId": order_id})
    assert answer.code == "0", answer.body
    return answer.data[0]


async def _placed(venue: Venue, *args: Any, **kwargs: Any) -> str:
    answer = await venue.order(*args, **kwargs)
    assert answer.code == "0" and answer.data[0]["sCode"] == "0", answer.body
    return answer.data[0]["ordId"]


def test_time_in_force_and_how_each_order_ends():
    async def check(venue: Venue):
        ioc = await _placed(venue, "buy", "1500", "65010", ord_type="ioc")  # 1000 at 65010, the rest canceled
        row = await _order(venue, ioc)
        assert (row["state"], row["accFillSz"], row["cancelSource"]) == ("canceled", "1000", "14")
        fok_short = await _placed(venue, "sell", "3500", "64980", ord_type="fok")  # the bids hold 3000
        row = await _order(venue, fok_short)
        assert (row["state"], row["accFillSz"], row["cancelSource"]) == ("canceled", "0", "13")
        fok = await _placed(venue, "sell", "500", "64990", ord_type="fok")
        assert (await _order(venue, fok))["state"] == "filled"
        cross = await _placed(venue, "buy", "1", "65020", ord_type="post_only")  # would take: accepted, canceled
        row = await _order(venue, cross)
        assert (row["state"], row["cancelSource"]) == ("canceled", "31")
        market = await _placed(venue, "buy", "200", ord_type="market")
        row = await _order(venue, market)
        assert row["state"] == "filled" and row["px"] == "" and row["ordType"] == "market"
        assert [p["pos"] for p in await venue.positions()] == ["700"]  # 1000 - 500 + 200
    _with(check)


def test_reduce_only_and_hedge_mode_closes():
    async def check(venue: Venue):
        await _placed(venue, "buy", "1000", "65010")
        close = await _placed(venue, "sell", "400", "64990", reduceOnly="true")
        assert (await _order(venue, close))["reduceOnly"] == "true"
        assert [p["pos"] for p in await venue.positions()] == ["600"]
        await venue.order("sell", "600", "64990", reduceOnly=True)
        assert await venue.positions() == []
        mode = await venue.post("/api/v5/account/set-position-mode", {"posMode": "long_short_mode"})
        assert mode.code == "0", mode.body
        await _placed(venue, "buy", "300", "65010", posSide="long")
        await _placed(venue, "sell", "100", "64990", posSide="short")
        rows = {p["posSide"]: p["pos"] for p in await venue.positions()}
        assert rows == {"long": "300", "short": "100"}
        missing = await venue.order("buy", "1", "64000")  # long/short mode needs posSide
        assert missing.data[0]["sCode"] == "51000" and "posSide" in missing.data[0]["sMsg"]
    _with(check)


def test_cancel_single_batch_and_after_the_fact():
    async def check(venue: Venue):
        a = await _placed(venue, "buy", "1", "64000", cl="a1")
        b = await _placed(venue, "buy", "1", "63000", cl="b1")
        one = await venue.post("/api/v5/trade/cancel-order", {"instId": SYMBOL, "clOrdId": "a1"})
        assert one.code == "0" and one.data[0]["ordId"] == a
        row = await _order(venue, a)
        assert (row["state"], row["cancelSource"]) == ("canceled", "1")
        again = await venue.post("/api/v5/trade/cancel-order", {"instId": SYMBOL, "ordId": a})
        assert again.code == "1" and again.data[0]["sCode"] == "51400"
        neither = await venue.post("/api/v5/trade/cancel-order", {"instId": SYMBOL})
        assert neither.data[0]["sCode"] == "51003"
        batch = await venue.post("/api/v5/trade/cancel-batch-orders", [{"instId": SYMBOL, "ordId": b},
                                                                       {"instId": SYMBOL, "ordId": "123"}])
        assert batch.code == "2" and [i["sCode"] for i in batch.data] == ["0", "51400"]
        assert await venue.pending() == []
        reused = await _placed(venue, "buy", "1", "64000", cl="a1")  # a closed order's client id is free again
        assert reused != a
    _with(check)


def test_amend_price_and_size_keeps_the_order():
    async def check(venue: Venue):
        order_id = await _placed(venue, "buy", "10", "64000", cl="am1", ord_type="post_only")
        moved = await venue.post("/api/v5/trade/amend-order", {"instId": SYMBOL, "ordId": order_id, "newPx": "64100",
                                                               "newSz": "12", "reqId": "r1"})
        assert moved.code == "0" and moved.data[0]["reqId"] == "r1" and moved.data[0]["sCode"] == "0"
        [row] = await venue.pending()
        assert (row["ordId"], row["clOrdId"], row["px"], row["sz"]) == (order_id, "am1", "64100.0", "12")
        crossing = await venue.post("/api/v5/trade/amend-order", {"instId": SYMBOL, "ordId": order_id,
                                                                  "newPx": "65010"})
        assert crossing.data[0]["sCode"] == "51511"
        assert (await venue.pending())[0]["px"] == "64100.0"
        await venue.post("/api/v5/trade/cancel-order", {"instId": SYMBOL, "ordId": order_id})
        late = await venue.post("/api/v5/trade/amend-order", {"instId": SYMBOL, "ordId": order_id, "newSz": "5"})
        assert late.data[0]["sCode"] == "51503"
    _with(check)


def test_cancel_all_after_cancels_when_the_clock_passes_the_deadline():
    async def check(venue: Venue):
        order_id = await _placed(venue, "buy", "1", "64000")
        armed = await venue.post("/api/v5/trade/cancel-all-after", {"timeOut": "10"})
        assert armed.code == "0" and armed.data[0]["triggerTime"] == str(int((venue.clock.now() + 10) * 1000))
        venue.step(9.9)
        assert len(await venue.pending()) == 1
        venue.step(0.2)
        venue.step()  # the cancels reach the simulator
        row = await _order(venue, order_id)
        assert (row["state"], row["cancelSource"]) == ("canceled", "20")
        venue.step(1.0)  # past the per-second limit of the endpoint
        bad = await venue.post("/api/v5/trade/cancel-all-after", {"timeOut": "5"})
        assert bad.status == 400 and bad.code == "51000"
        venue.step(1.0)
        off = await venue.post("/api/v5/trade/cancel-all-after", {"timeOut": 0})
        assert off.code == "0" and off.data[0]["triggerTime"] == "0" and venue.server.dead_man.deadline is None
    _with(check)


async def _until(what: str, check, seconds: float = 10.0):
    async def poll():
        while not (found := await check()):
            await asyncio.sleep(0.02)
        return found
    try:
        return await asyncio.wait_for(poll(), seconds)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {seconds:.0f} s") from None


def test_a_stop_on_the_last_price_closes_the_whole_position():
    async def check(venue: Venue):
        await _placed(venue, "buy", "1000", "65010")  # long 1 BTC; the last price is 65010
        algo = {"instId": SYMBOL, "tdMode": "cross", "side": "sell", "ordType": "conditional", "closeFraction": "1",
                "reduceOnly": True, "slTriggerPx": "65000", "slOrdPx": "-1", "slTriggerPxType": "last"}
        wrong = await venue.post("/api/v5/trade/order-algo", {**algo, "slTriggerPx": "65020"})
        assert wrong.code == "1" and wrong.data[0]["sCode"] == "51280"
        placed = await venue.post("/api/v5/trade/order-algo", {**algo, "algoClOrdId": "stop1"})
        assert placed.code == "0" and placed.data[0]["sCode"] == "0", placed.body
        algo_id = placed.data[0]["algoId"]
        pending = (await venue.get("/api/v5/trade/orders-algo-pending", {"ordType": "conditional"})).data
        assert [(p["algoId"], p["state"], p["slTriggerPx"], p["closeFraction"]) for p in pending] == [
            (algo_id, "live", "65000.0", "1")]
        await _placed(venue, "sell", "1", "64990")  # trades at 64990: the last price crosses the stop
        await _until("the stop closes the position", lambda: _no_positions(venue))
        history = (await venue.get("/api/v5/trade/orders-algo-history", {"ordType": "conditional",
                                                                         "state": "effective"})).data
        assert history[0]["algoId"] == algo_id and history[0]["ordId"]
        child = await _order(venue, history[0]["ordId"])
        assert child["state"] == "filled" and child["reduceOnly"] == "true" and child["accFillSz"] == "999"
    _with(check)


async def _no_positions(venue: Venue) -> bool:
    return await venue.positions() == []


def test_a_stop_on_the_mark_price_rests_until_canceled():
    async def check(venue: Venue):
        await _placed(venue, "buy", "100", "65010")
        algo = {"instId": SYMBOL, "tdMode": "cross", "side": "sell", "ordType": "conditional", "sz": "100",
                "reduceOnly": "true", "slTriggerPx": "64000", "slOrdPx": "-1", "slTriggerPxType": "mark"}
        wrong = await venue.post("/api/v5/trade/order-algo", {**algo, "slTriggerPx": "65100"})
        assert wrong.data[0]["sCode"] == "51304"  # above the mark (65000)
        placed = await venue.post("/api/v5/trade/order-algo", algo)
        algo_id = placed.data[0]["algoId"]
        venue.step(5.0)
        assert [p["algoId"] for p in (await venue.get("/api/v5/trade/orders-algo-pending",
                                                      {"ordType": "conditional"})).data] == [algo_id]
        canceled = await venue.post("/api/v5/trade/cancel-algos", [{"algoId": algo_id, "instId": SYMBOL}])
        assert canceled.code == "0" and canceled.data[0]["sCode"] == "0"
        again = await venue.post("/api/v5/trade/cancel-algos", [{"algoId": algo_id, "instId": SYMBOL}])
        assert again.code == "1"
        assert (await venue.get("/api/v5/trade/orders-algo-pending", {"ordType": "conditional"})).data == []
        unsupported = await venue.post("/api/v5/trade/order-algo", {**algo, "ordType": "oco"})
        assert unsupported.data[0]["sCode"] == "51000"
    _with(check)
