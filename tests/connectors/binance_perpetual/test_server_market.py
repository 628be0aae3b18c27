"""Binance server: exchangeInfo from the sim's rules, depth snapshot + diff stream synced with
Binance's documented algorithm, every WebSocket path shape, the subscription protocol, streams."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from test_server_kit import (
    MARKET,
    SYMBOL,
    Ws,
    event_of,
    rest_client,
    run,
    serving,
    static_settings,
    synthetic_settings,
    ws_connect,
)

from pmm.connectors.binance_perpetual.server import BinanceServer, ServerOptions, serve_forever
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

D = Decimal


def _levels(rows: list[list[str]]) -> dict[Decimal, Decimal]:
    return {D(p): D(q) for p, q in rows}


def test_exchange_info_filters_are_the_sims_rules() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, info, _ = await rest.public("/fapi/v1/exchangeInfo")
            assert status == 200
            [symbol] = info["symbols"]
            rules = server.exchange.trading_rules(MARKET)
            filters = {f["filterType"]: f for f in symbol["filters"]}
            assert symbol["symbol"] == SYMBOL and symbol["contractType"] == "PERPETUAL"
            assert (symbol["baseAsset"], symbol["quoteAsset"], symbol["marginAsset"]) == ("BTC", "USDT", "USDT")
            assert D(filters["PRICE_FILTER"]["tickSize"]) == rules.tick_size
            assert D(filters["LOT_SIZE"]["stepSize"]) == rules.step_size
            assert D(filters["LOT_SIZE"]["minQty"]) == rules.min_size
            assert D(filters["MARKET_LOT_SIZE"]["stepSize"]) == rules.step_size
            assert D(filters["MIN_NOTIONAL"]["notional"]) == rules.min_notional
            assert symbol["pricePrecision"] == 1 and symbol["quantityPrecision"] == 3
            assert {"REQUEST_WEIGHT", "ORDERS"} <= {r["rateLimitType"] for r in info["rateLimits"]}

    run(scenario())


async def _synced_book(server: BinanceServer, ws: Ws, rest: Any, events_to_apply: int) -> None:
    """Binance's 'How to manage a local order book correctly' (USD-M), step by step, then the
    local book must equal the simulator's book at the same update id."""
    # 1. Open the stream and buffer events (one is already in hand).
    buffered = [await ws.until(event_of("depthUpdate"))]
    # 2. Get a snapshot.
    _, snap, _ = await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=1000)
    last_update_id = snap["lastUpdateId"]
    bids, asks = _levels(snap["bids"]), _levels(snap["asks"])
    previous_u: int | None = None
    applied = 0
    while True:
        event = buffered.pop(0) if buffered else await ws.until(event_of("depthUpdate"))
        event = event.get("data", event)
        if previous_u is None:
            if event["u"] < last_update_id:  # 3. drop what the snapshot already holds
                continue
            assert event["U"] <= last_update_id <= event["u"]  # 4. the first event straddles it
        else:
            assert event["pu"] == previous_u  # 5. continuity
        for side, levels in ((bids, event["b"]), (asks, event["a"])):  # 6. absolute quantities
            for price, qty in levels:
                if D(qty) == 0:
                    side.pop(D(price), None)
                else:
                    side[D(price)] = D(qty)
        previous_u, applied = event["u"], applied + 1
        if applied >= events_to_apply and event["u"] == server.streams.last_update_id[SYMBOL]:
            book = server.exchange.book(MARKET)
            assert bids == dict(book.levels(Side.BUY)) and asks == dict(book.levels(Side.SELL))
            assert bids and asks
            return


@pytest.mark.parametrize("path", ["/public/ws/0", "/stream?streams=btcusdt@depth@100ms"])
def test_depth_snapshot_and_diffs_sync_to_the_sims_book(path: str) -> None:
    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, rest_client(server) as rest:
            async with ws_connect(server, path) as ws:
                if "streams=" not in path:
                    await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
                    assert await ws.next() == {"result": None, "id": 1}
                await _synced_book(server, ws, rest, events_to_apply=8)

    run(scenario())


PATHS = [
    ("/ws/btcusdt@depth", None, False),
    ("/ws/btcusdt@depth/btcusdt@aggTrade", None, False),
    ("/stream?streams=btcusdt@depth/btcusdt@bookTicker", None, True),
    ("/ws", 1, False),
    ("/ws/0", 7, False),
    ("/stream", 1700000000000, True),
    ("/public/ws/0", 1, False),
    ("/market/ws/1", 2, False),
    ("/public/stream", "9f0c7b5e-3f1a-4c47-9d7e-2b1f4b8c6a10", True),
    ("/market/stream", "abc", True),
]


@pytest.mark.parametrize(("path", "request_id", "combined"), PATHS)
def test_every_path_shape_streams(path: str, request_id: Any, combined: bool) -> None:
    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, path) as ws:
            if request_id is not None:
                await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth"], "id": request_id})
                assert await ws.next() == {"result": None, "id": request_id}
            msg = await ws.until(event_of("depthUpdate"))
            if combined:
                assert set(msg) == {"stream", "data"} and msg["stream"].startswith("btcusdt@")
            else:
                assert msg["e"] == "depthUpdate" and msg["s"] == SYMBOL

    run(scenario())


def test_subscription_protocol() -> None:
    async def scenario() -> None:
        async with serving() as server, ws_connect(server, "/ws") as ws:
            await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@markPrice@1s"], "id": 1})
            assert await ws.next() == {"result": None, "id": 1}
            await ws.send({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 2})
            assert await ws.next() == {"result": None, "id": 2}
            await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": 3})
            assert await ws.until(lambda m: m.get("id") == 3) == {"result": ["btcusdt@markPrice@1s"], "id": 3}
            await ws.send({"method": "GET_PROPERTY", "params": ["combined"], "id": 4})
            assert await ws.until(lambda m: m.get("id") == 4) == {"result": False, "id": 4}
            await ws.send({"method": "SET_PROPERTY", "params": ["combined", True], "id": 5})
            assert await ws.until(lambda m: m.get("id") == 5) == {"result": None, "id": 5}
            wrapped = await ws.until(event_of("markPriceUpdate"))
            assert wrapped["stream"] == "btcusdt@markPrice@1s"
            await ws.send({"method": "PING_PONG", "id": 6})
            assert (await ws.until(lambda m: m.get("id") == 6))["error"]["code"] == 2
            await ws.ws.send_str("{not json")
            assert (await ws.until(lambda m: "error" in m and m["id"] is None))["error"]["code"] == 3
            await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth"], "id": -1})
            assert (await ws.until(lambda m: "error" in m))["error"]["code"] == 2

    run(scenario())


def test_mark_price_stream_and_premium_index_agree() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest, ws_connect(server, "/market/ws/0") as ws:
            await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice@1s", "!markPrice@arr@1s"], "id": 1})
            event = await ws.until(event_of("markPriceUpdate"), timeout=3)
            info = server.exchange.funding_info(MARKET)
            assert D(event["p"]) == info.mark_price and D(event["i"]) == info.index_price
            assert D(event["r"]) == info.rate and event["T"] == int(info.next_funding_ts * 1000)
            assert event["s"] == SYMBOL and isinstance(event["E"], int)
            everything = await ws.until(lambda m: isinstance(m, list), timeout=4)
            assert everything[0]["s"] == SYMBOL
            _, premium, _ = await rest.public("/fapi/v1/premiumIndex", symbol=SYMBOL)
            assert (premium["markPrice"], premium["lastFundingRate"], premium["nextFundingTime"]) == (
                event["p"], event["r"], event["T"])

    run(scenario())


def test_partial_depth_book_ticker_and_trades() -> None:
    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, "/ws") as ws:
            streams = ["btcusdt@depth5@100ms", "btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@trade"]
            await ws.send({"method": "SUBSCRIBE", "params": streams, "id": 1})
            partial = await ws.until(event_of("depthUpdate"))
            assert len(partial["b"]) == 5 and len(partial["a"]) == 5 and partial["pu"] < partial["U"] <= partial["u"]
            assert D(partial["b"][0][0]) < D(partial["a"][0][0])
            ticker = await ws.until(event_of("bookTicker"))
            assert {"u", "s", "b", "B", "a", "A", "T", "E"} <= set(ticker)
            agg = await ws.until(event_of("aggTrade"), timeout=5)
            assert {"a", "p", "q", "f", "l", "T", "m"} <= set(agg) and isinstance(agg["m"], bool)
            trade = await ws.until(event_of("trade"), timeout=5)
            assert trade["X"] == "MARKET" and D(trade["q"]) > 0

    run(scenario())


def test_rest_market_reads() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, depth, _ = await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=5)
            assert depth["bids"][0] == ["64999.9", "2.000"] and depth["asks"][0] == ["65000.1", "2.000"]
            status, err, _ = await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=7)
            assert (status, err["code"]) == (400, -4021)
            status, err, _ = await rest.public("/fapi/v1/depth", symbol="NOPEUSDT")
            assert err == {"code": -1121, "msg": "Invalid symbol."}
            _, ticker, _ = await rest.public("/fapi/v1/ticker/bookTicker", symbol=SYMBOL)
            assert (ticker["bidPrice"], ticker["askPrice"]) == ("64999.9", "65000.1")
            _, time_, _ = await rest.public("/fapi/v1/time")
            assert abs(time_["serverTime"] - server.clock.now() * 1000) < 5000
            status, missing, _ = await rest.public("/fapi/v9/nothing")
            assert status == 404 and missing["code"] == -1099

    run(scenario())


def test_ping_pong_both_ways() -> None:
    options = ServerOptions(tick_s=0.01, ws_ping_interval_s=0.2)

    async def scenario() -> None:
        async with serving(options=options) as server, aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "/ws", autoping=False, heartbeat=None) as ws:
                await ws.ping(b"client")
                pong = await ws.receive(2)
                assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"client")
                ping = await ws.receive(2)  # the server's heartbeat (Binance: every 3 minutes)
                assert ping.type == aiohttp.WSMsgType.PING
                await ws.pong(ping.data)

    run(scenario())


def test_serve_forever_runs_until_cancelled() -> None:
    async def scenario() -> None:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(serve_forever(static_settings(), port=0, api_key="k", api_secret="s",
                                                   on_ready=ready.set_result))
        port = await asyncio.wait_for(ready, 5)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/fapi/v1/ping") as resp:
                assert resp.status == 200 and await resp.json() == {}
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())


def test_only_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        BinanceServer(SimExchange(static_settings()), api_key="k", api_secret="s", host="0.0.0.0")
