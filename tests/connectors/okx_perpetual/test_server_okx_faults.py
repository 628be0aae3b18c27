"""Fault injection of the OKX server, through the common fault injector: error answers (429, 5xx,
a given code), a request carried out whose answer is lost, delays, order rejections with an OKX
code, a skewed venue clock, and rate limits per endpoint."""

from __future__ import annotations

import asyncio

from test_server_okx_kit import SYMBOL, Venue, run, running, static_settings

from pmm.connectors.okx_perpetual.server import ServerOptions


def _with(check, **kwargs):
    async def go():
        async with running(**kwargs) as venue:
            await check(venue)
    run(go())


def test_injected_error_answers_in_okx_envelopes():
    async def check(venue: Venue):
        venue.faults.fail_next("/api/v5/market/books", 429, retry_after=2)
        limited = await venue.get("/api/v5/market/books", {"instId": SYMBOL}, signed=False)
        assert limited.status == 429 and limited.code == "50011"
        venue.faults.fail_next("/api/v5/account/balance", 503)
        busy = await venue.get("/api/v5/account/balance")
        assert busy.status == 503 and busy.code == "50001"
        venue.faults.fail_next("/api/v5/account/balance", 500)
        assert (await venue.get("/api/v5/account/balance")).code == "50026"
        venue.faults.fail_next("/api/v5/account/positions", 200, code=50013, msg="busy now")
        given = await venue.get("/api/v5/account/positions")
        assert given.status == 200 and given.body == {"code": "50013", "msg": "busy now", "data": []}
        assert (await venue.get("/api/v5/account/balance")).code == "0"  # one failure each, then normal
    _with(check)


def test_a_lost_answer_still_places_the_order():
    async def check(venue: Venue):
        venue.faults.fail_next("/api/v5/trade/order", 504, execute=True)
        lost = await venue.order("buy", "1", "64000", cl="lost1")
        assert lost.status == 504 and lost.code == "50026"
        [row] = await venue.pending()
        assert row["clOrdId"] == "lost1"  # the order exists: reconciliation finds it
    _with(check)


def test_rejected_orders_carry_the_given_code():
    async def check(venue: Venue):
        venue.faults.reject_next_order(51008, count=2)
        batch = await venue.post("/api/v5/trade/batch-orders", [
            {"instId": SYMBOL, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1", "px": "64000"}] * 3)
        assert batch.code == "2" and [i["sCode"] for i in batch.data] == ["51008", "51008", "0"]
        assert len(await venue.pending()) == 1
    _with(check)


def test_delays_before_and_after():
    async def check(venue: Venue):
        loop = asyncio.get_running_loop()
        venue.faults.add_latency(0.2, "/api/v5/public/time")
        started = loop.time()
        assert (await venue.get("/api/v5/public/time", signed=False)).code == "0"
        assert loop.time() - started >= 0.2
        venue.faults.add_latency(0, "/api/v5/public/time")
        venue.faults.add_latency(0.2, "/api/v5/public/time", stage="after")
        started = loop.time()
        await venue.get("/api/v5/public/time", signed=False)
        assert loop.time() - started >= 0.2
    _with(check)


def test_a_skewed_venue_clock_refuses_stale_signatures_until_the_client_resyncs():
    async def check(venue: Venue):
        venue.faults.set_clock_offset(45.0)
        stale = await venue.get("/api/v5/account/balance")
        assert stale.status == 401 and stale.code == "50102"
        server_ms = int((await venue.get("/api/v5/public/time", signed=False)).data[0]["ts"])
        now = venue.clock.now()
        venue.auth.update_time_offset(server_ms, now, now)
        assert (await venue.get("/api/v5/account/balance")).code == "0"
    _with(check)


def test_endpoint_limits_answer_50011_until_the_window_passes():
    async def check(venue: Venue):
        for _ in range(10):
            assert (await venue.get("/api/v5/account/positions")).code == "0"
        over = await venue.get("/api/v5/account/positions")
        assert over.status == 429 and over.code == "50011"
        venue.step(2.0)
        assert (await venue.get("/api/v5/account/positions")).code == "0"
    _with(check)


def test_limits_can_be_switched_off():
    async def check(venue: Venue):
        for _ in range(30):
            assert (await venue.get("/api/v5/account/positions")).code == "0"
    _with(check, options=ServerOptions(limits=None))


def test_batch_limits_count_orders_not_requests():
    async def check(venue: Venue):
        order = {"instId": SYMBOL, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1", "px": "60000"}
        for _ in range(15):  # 15 x 20 = 300 orders in the window
            assert (await venue.post("/api/v5/trade/batch-orders", [order] * 20)).code == "0"
        over = await venue.post("/api/v5/trade/batch-orders", [order])
        assert over.status == 429 and over.code == "50011"
    _with(check, settings=static_settings(balance="10000000"))


def test_user_frames_are_duplicated_and_reordered_per_account_event():
    async def check(venue: Venue):
        ws = await venue.private([{"channel": "orders", "instType": "ANY"}])
        venue.faults.duplicate_next_frames("user")
        await venue.order("buy", "1", "64000", cl="dup1")
        first = await ws.until(lambda m: "data" in m)
        again = await ws.until(lambda m: "data" in m)
        assert first == again and first["data"][0]["clOrdId"] == "dup1"
        venue.faults.reorder_next_frames("user")
        await venue.order("buy", "1", "63000", cl="held1")  # held back ...
        await venue.order("buy", "1", "62000", cl="next1")  # ... and sent right after this one
        order = [(await ws.until(lambda m: "data" in m))["data"][0]["clOrdId"] for _ in range(2)]
        assert order == ["next1", "held1"]
        assert venue.faults._held_frames == {}
    _with(check)
