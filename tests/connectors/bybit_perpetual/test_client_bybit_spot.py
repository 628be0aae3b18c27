"""The `bybit` price source: Bybit v5 spot public market data (BybitSpotFeed) and the spot dialect of
the loopback server (BybitSpotServer, `pmm exchange-sim bybit`)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from helpers import BookReplica
from test_client_bybit_fakes import fixture

from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.bybit_perpetual.server.spot import BybitSpotServer
from pmm.connectors.bybit_perpetual.spot_feed import BybitSpotFeed, parse_spot_trading_rules
from pmm.core.clock import LiveClock
from pmm.core.events import BookResyncRequired, ConnectionChanged, Trade
from pmm.core.model import Side
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

D = Decimal
SOL = "SOL-USDT"


async def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def test_spot_trading_rules_come_from_the_spot_instrument() -> None:
    rules = parse_spot_trading_rules(fixture("spot_rest_instruments_info.json")["result"], "BTC-USDT")
    assert (rules.base, rules.quote) == ("BTC", "USDT")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
        D("0.01"), D("0.000001"), D("0.000048"), D("1"))


def test_an_unlisted_spot_pair_names_price_source_market() -> None:
    empty = {"category": "spot", "list": []}
    with pytest.raises(ConfigError, match=r"Bybit spot does not list `SOLUSDT` \(`price_source_market` SOL-USDT\)"):
        parse_spot_trading_rules(empty, SOL)


def _settings() -> SimSettings:
    synthetic = SyntheticMarket(start_price=D("150"), book_interval_s=0.1, level_size=D("20"),
                                trade_rate_per_min=600.0, trade_size=D("1"))
    return SimSettings(markets=(SimMarketSettings(SOL, synthetic, tick_size=D("0.01"), step_size=D("0.01"),
                                                  min_size=D("0.01")),), seed=6)


def _same_book(local: BookReplica, server: BybitSpotServer) -> bool:
    state = server.streams.state["SOLUSDT"]
    published = state.books[50]
    return local.matches(published.seq, published.levels(Side.BUY), published.levels(Side.SELL))


def test_the_feed_keeps_the_spot_book_through_gaps_and_dropped_sockets() -> None:
    async def main() -> None:
        server = BybitSpotServer(SimExchange(_settings()))
        await server.start()
        clock = LiveClock()
        feed = BybitSpotFeed(BybitRestClient(server.rest_url, clock=clock), ws_url=server.ws_url, clock=clock,
                             ws_options={"backoff_initial_s": 0.05})
        local = BookReplica(SOL)
        try:
            await feed.prepare([SOL])
            assert feed.trading_rules(SOL).step_size == D("0.01")
            await feed.start([SOL], local)
            await wait_until(lambda: _same_book(local, server))
            await wait_until(lambda: any(isinstance(e, Trade) for e in local.events))
            server.faults.skip_depth_update_ids(2)
            await wait_until(lambda: any(isinstance(e, BookResyncRequired) and "orderbook gap" in e.reason
                                         for e in local.events))
            await wait_until(lambda: _same_book(local, server))  # resubscribed: a new snapshot
            assert server.faults.drop_sockets("public") == 1
            await wait_until(lambda: any(isinstance(e, BookResyncRequired) and "disconnected" in e.reason
                                         for e in local.events))
            await wait_until(lambda: _same_book(local, server))
            ups = [e for e in local.events if isinstance(e, ConnectionChanged) and e.connected]
            assert len(ups) == 2 and {e.connector for e in ups} == {"bybit"}
            with pytest.raises(ConfigError, match="`price_source_market` XRP-USDT"):
                await feed.prepare(["XRP-USDT"])
        finally:
            await feed.stop()
            await server.stop()

    asyncio.run(main())


def test_the_server_speaks_bybit_spot() -> None:
    async def main() -> None:
        server = BybitSpotServer(SimExchange(_settings()))
        await server.start()
        base = server.rest_url
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/v5/market/instruments-info?category=spot&symbol=SOLUSDT") as resp:
                    spot = (await resp.json())["result"]
                async with http.get(f"{base}/v5/market/instruments-info?category=linear") as resp:
                    linear = (await resp.json())["result"]
                async with http.get(f"{base}/v5/market/orderbook?category=spot&symbol=SOLUSDT&limit=5") as resp:
                    book = (await resp.json())["result"]
                async with http.get(f"{base}/v5/market/orderbook?category=linear&symbol=SOLUSDT") as resp:
                    wrong = await resp.json()
                async with http.ws_connect(f"{server.ws_url}/v5/public/spot") as ws:
                    await ws.send_str(json.dumps({"op": "subscribe", "req_id": "a", "args": ["tickers.SOLUSDT"]}))
                    refused = json.loads((await ws.receive(timeout=20)).data)
                    await ws.send_str(json.dumps({"op": "subscribe", "req_id": "b", "args": ["orderbook.50.SOLUSDT"]}))
                    frames = [json.loads((await ws.receive(timeout=20)).data) for _ in range(5)]
        finally:
            await server.stop()
        (entry,) = spot["list"]
        assert set(entry["lotSizeFilter"]) >= {"basePrecision", "minOrderQty", "minOrderAmt"}
        assert set(entry["priceFilter"]) == {"tickSize"} and "contractType" not in entry
        assert spot["category"] == "spot" and linear["list"] == []
        assert set(book) >= {"s", "b", "a", "u", "seq", "ts"} and len(book["b"]) == 5
        assert wrong["retCode"] == 10001
        assert refused["success"] is False and "tickers.SOLUSDT" in refused["ret_msg"]
        ack, first, *deltas = frames
        assert ack["op"] == "subscribe" and ack["success"] is True
        assert first["type"] == "snapshot" and first["topic"] == "orderbook.50.SOLUSDT"
        ids = [first["data"]["u"]] + [d["data"]["u"] for d in deltas]
        assert all(d["type"] == "delta" for d in deltas) and ids == list(range(ids[0], ids[0] + len(ids)))

    asyncio.run(main())
