"""The BitMEX server's dialect on the wire, and pmm's BitMEX client against it: signed requests and
their refusals, rate-limit headers, the `/realtime` handshake (welcome, authKeyExpires, signed upgrade
headers, partials with keys and filter), an order book gap resynced by a new partial, post-only and
unknown-order refusals, the reduce-only stop and cancelAllAfter. Waits have deadlines."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import pytest
from venue_servers import busy_market

from pmm.connectors.bitmex_perpetual import auth, spec
from pmm.connectors.bitmex_perpetual.feed import BitmexFeed
from pmm.connectors.bitmex_perpetual.gateway import BitmexGateway
from pmm.connectors.bitmex_perpetual.rest import BitmexRestClient
from pmm.connectors.bitmex_perpetual.server import BitmexServer, ServerOptions
from pmm.core.clock import LiveClock
from pmm.core.events import BookSnapshot
from pmm.core.model import ClientOrderId, OrderRequest, OrderType, Side
from pmm.errors import PostOnlyWouldCross, UnknownOrder
from pmm.sim.exchange import SimExchange

KEY, SECRET = "bitmex-test-key", "bitmex-test-secret"
T = TypeVar("T")


def run(make: Callable[[BitmexServer], Coroutine[Any, Any, T]], *, options: ServerOptions | None = None,
        timeout: float = 60.0) -> T:
    async def main() -> T:
        exchange = SimExchange(busy_market())
        server = BitmexServer(exchange, api_key=KEY, api_secret=SECRET, options=options)
        await server.start()
        try:
            return await asyncio.wait_for(make(server), timeout)
        finally:
            await server.stop()
            exchange.close()
    return asyncio.run(main())


async def until(probe: Callable[[], Any], what: str, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {seconds} s: {what}")


def signer() -> auth.BitmexAuth:
    return auth.BitmexAuth(KEY, SECRET, LiveClock())


def test_signed_requests_are_checked_and_refused_in_bitmex_words():
    async def scenario(server: BitmexServer) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.rest_url + spec.POSITION_PATH) as r:
                assert r.status == 401 and await r.json() == {"error": {"message": "Missing API key.",
                                                                         "name": "HTTPError"}}
            headers = signer().headers("GET", spec.POSITION_PATH)
            async with http.get(server.rest_url + spec.POSITION_PATH + "?x=1", headers=headers) as r:
                assert r.status == 401 and (await r.json())["error"]["message"] == "Signature not valid."
            async with http.get(server.rest_url + spec.POSITION_PATH, headers=headers) as r:
                assert r.status == 200 and isinstance(await r.json(), list)
                assert int(r.headers["x-ratelimit-remaining"]) < int(r.headers["x-ratelimit-limit"])
                assert float(r.headers["x-ratelimit-reset"]) > time.time() - 1

    run(scenario)


def test_over_the_account_budget_is_429_with_retry_after():
    async def scenario(server: BitmexServer) -> None:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(3):
                async with http.get(server.rest_url + spec.ROOT_PATH) as r:
                    statuses.append((r.status, r.headers.get("Retry-After"), r.headers.get("x-ratelimit-remaining")))
            assert statuses[:2] == [(200, None, "1"), (200, None, "0")]
            assert statuses[2][:2] == (429, "1")

    run(scenario, options=ServerOptions(limits=((2, 60.0), (10, 1.0))))


def test_realtime_welcome_auth_and_partials():
    async def scenario(server: BitmexServer) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(server.realtime_url) as ws:
                assert (await ws.receive_json(timeout=5))["info"].startswith("Welcome to the BitMEX Realtime API")
                await ws.send_json({"op": "subscribe", "args": ["position"]})
                assert (await ws.receive_json(timeout=5))["status"] == 401
                await ws.send_json(signer().ws_auth_message())
                assert (await ws.receive_json(timeout=5))["success"] is True
                await ws.send_json({"op": "subscribe", "args": ["orderBookL2:XBTUSDT", "margin"]})
                replies = [await ws.receive_json(timeout=5) for _ in range(4)]
                book = next(r for r in replies if r.get("table") == "orderBookL2")
                assert book["action"] == "partial" and book["keys"] == ["symbol", "id", "side"]
                assert book["filter"] == {"symbol": "XBTUSDT"} and book["data"]
                margin = next(r for r in replies if r.get("table") == "margin")
                assert margin["data"][0]["currency"] == "USDt"
            # bitmex-ws's way: signed headers on the upgrade, topics in the URL
            expires = str(int(time.time()) + 60)
            headers = {"api-key": KEY, "api-expires": expires,
                       "api-signature": auth.ws_signature(SECRET, expires)}
            async with http.ws_connect(server.realtime_url + "?subscribe=position", headers=headers) as ws:
                await ws.receive_json(timeout=5)
                assert (await ws.receive_json(timeout=5))["subscribe"] == "position"
                assert (await ws.receive_json(timeout=5))["table"] == "position"

    run(scenario)


def test_a_lost_book_message_is_met_and_resynced_by_a_new_partial():
    async def scenario(server: BitmexServer) -> None:
        clock = LiveClock()
        feed = BitmexFeed(BitmexRestClient(server.rest_url, clock=clock), ws_url=server.ws_url, clock=clock)
        events: list[Any] = []
        await feed.start(["BTC-USDT"], events.append)
        try:
            await until(lambda: feed.book("BTC-USDT").live, "the first partial")
            server.faults.skip_depth_update_ids(1)
            await until(lambda: feed.book("BTC-USDT").resyncs >= 2, "the gap noticed")
            await until(lambda: feed.book("BTC-USDT").live and feed.book("BTC-USDT").snapshots >= 2,
                        "a new partial after the resubscription")
            assert sum(isinstance(e, BookSnapshot) for e in events) >= 2
        finally:
            await feed.stop()

    run(scenario)


def _gateway(server: BitmexServer) -> BitmexGateway:
    clock = LiveClock()
    rest = BitmexRestClient(server.rest_url, clock=clock, auth=auth.BitmexAuth(KEY, SECRET, clock))
    return BitmexGateway(rest, ws_url=server.ws_url, clock=clock, markets=["BTC-USDT"], funding_poll_s=None)


def test_post_only_crossing_and_unknown_cancels_are_refused_and_stops_rest_at_the_venue():
    async def scenario(server: BitmexServer) -> None:
        gateway = _gateway(server)
        events: list[Any] = []
        await gateway.start(events.append)
        try:
            ask = server.exchange.book("BTC-USDT").best_ask
            assert ask is not None
            with pytest.raises(PostOnlyWouldCross):
                await gateway.place_order(OrderRequest(ClientOrderId("pmm-po-1"), "BTC-USDT", Side.BUY,
                                                       OrderType.LIMIT_MAKER, Decimal("0.01"), ask))
            # the stream's echo of the refusal is dropped: the engine hears of it once, from the raise
            await until(lambda: not gateway._refused, "the stream's Canceled execution of the refused order")
            assert not [e for e in events if getattr(e, "client_id", None) == "pmm-po-1"]
            with pytest.raises(UnknownOrder):
                await gateway.cancel_order("BTC-USDT", ClientOrderId("pmm-nope"))
            await gateway.place_stop_order("BTC-USDT", ClientOrderId("pmm-stop-1"), Side.SELL, Decimal("0.01"),
                                           Decimal("1000"))
            [trigger] = server.triggers.live()
            assert (trigger.reduce_only, trigger.trigger_on.value, trigger.trigger_price) == (True, "mark",
                                                                                               Decimal("1000"))
            assert await gateway.resting_stop_orders("BTC-USDT") == ["pmm-stop-1"]
            await gateway.cancel_stop_order("BTC-USDT", ClientOrderId("pmm-stop-1"))
            assert server.triggers.live() == []
            await gateway.arm_dead_man_switch("BTC-USDT", 30)
            assert server.dead_man.deadline is not None and server.dead_man.deadline > time.time() + 20
            await gateway.disarm_dead_man_switch("BTC-USDT")
            assert server.dead_man.deadline is None
        finally:
            await gateway.stop()

    run(scenario)


def test_a_cancel_of_a_filled_order_answers_the_row_with_its_error():
    async def scenario(server: BitmexServer) -> None:
        async with aiohttp.ClientSession() as http:
            body = json.dumps({"symbol": "XBTUSDT", "side": "Buy", "orderQty": 10000, "ordType": "Market",
                               "clOrdID": "m1"})
            headers = {**signer().headers("POST", spec.ORDER_PATH, body), "Content-Type": "application/json"}
            async with http.post(server.rest_url + spec.ORDER_PATH, data=body, headers=headers) as r:
                order = await r.json()
                assert (r.status, order["ordStatus"], order["cumQty"]) == (200, "Filled", 10000)
            body = json.dumps({"clOrdID": "m1"})
            headers = {**signer().headers("DELETE", spec.ORDER_PATH, body), "Content-Type": "application/json"}
            async with http.delete(server.rest_url + spec.ORDER_PATH, data=body, headers=headers) as r:
                [row] = await r.json()
                assert row["error"] == "Unable to cancel order due to existing state: Filled"

    run(scenario)


def test_the_spot_pair_is_a_price_source_served_by_the_spot_server():
    from pmm.connectors.bitmex_perpetual.build import build_price_feed
    from pmm.connectors.bitmex_perpetual.server import make_spot_server

    async def main() -> None:
        exchange = SimExchange(busy_market())
        server = make_spot_server(exchange)
        await server.start()
        try:
            class Overrides:
                price_source_rest_url, price_source_ws_url = server.rest_url, server.ws_url

            class Config:
                connector = Overrides()

            feed = build_price_feed("bitmex", Config(), LiveClock())
            events: list[Any] = []
            await feed.start(["BTC-USDT"], events.append)
            try:
                await until(lambda: feed.book("BTC-USDT").live, "the spot book's partial")
                snapshot = next(e for e in events if isinstance(e, BookSnapshot))
                assert snapshot.bids[0][0] < snapshot.asks[0][0]
                assert feed.trading_rules("BTC-USDT").step_size == Decimal("0.001")
                assert server.symbols.symbols() == ["XBT_USDT"]
            finally:
                await feed.stop()
            async with aiohttp.ClientSession() as http:
                headers = signer().headers("GET", spec.POSITION_PATH)
                async with http.get(server.rest_url + spec.POSITION_PATH, headers=headers) as r:
                    assert r.status == 401  # no account behind the spot market data
        finally:
            await server.stop()
            exchange.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_client_waits_for_the_next_token_of_the_bucket_instead_of_earning_a_429():
    async def scenario(server: BitmexServer) -> None:
        rest = BitmexRestClient(server.rest_url, clock=LiveClock())
        try:
            # 20 a minute, one back every 3 s: the bucket is full again a minute after it empties, far
            # past what a request waits for, but the next token is 3 s away
            for _ in range(22):
                assert (await rest.public(spec.ROOT_PATH))["name"] == "BitMEX API"
            assert rest.limits.waits >= 2
        finally:
            await rest.close()

    run(scenario, options=ServerOptions(limits=((20, 60.0), (10, 1.0))))
