"""The `bitmart` price source: BitMart spot's public data read by `BitmartSpotFeed` from the spot
server on loopback (rules, whole-book pushes, trades), compressed frames, and refusals."""

from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal as D
from types import SimpleNamespace

import aiohttp
import pytest
from venue_servers import busy_market

from pmm.connectors.bitmart_perpetual import build, spot_feed, streams
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient
from pmm.connectors.bitmart_perpetual.server.spot import BitmartSpotServer
from pmm.connectors.bitmart_perpetual.spot_feed import BitmartSpotFeed, parse_spot_rules
from pmm.core.clock import LiveClock
from pmm.core.events import BookSnapshot, Trade
from pmm.core.model import Side
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange

DOC_DETAILS = {"symbols": [{"symbol": "GXC_BTC", "symbol_id": 1024, "base_currency": "GXC", "quote_currency": "BTC",
                            "quote_increment": "1.00000000", "base_min_size": "1.00000000", "price_min_precision": 6,
                            "price_max_precision": 8, "expiration": "NA", "min_buy_amount": "0.00010000",
                            "min_sell_amount": "0.00010000", "trade_status": "trading"}]}


def test_spot_rules_from_the_documented_symbol_details():
    rules = parse_spot_rules(DOC_DETAILS, "GXC-BTC")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
        D("1E-8"), D("1"), D("1"), D("0.0001"))
    with pytest.raises(ConfigError, match="price_source_market"):
        parse_spot_rules(DOC_DETAILS, "BTC-USDT")


def test_the_spot_socket_reads_deflated_frames():
    text = '{"table":"spot/depth5","data":[]}'
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert streams._inflate(packer.compress(text.encode()) + packer.flush()) == text
    assert streams._inflate(text.encode()) == text


def test_the_bitmart_price_source_is_the_spot_feed():
    feed = build.build_price_feed("bitmart", SimpleNamespace(connector=None), LiveClock())
    assert isinstance(feed, BitmartSpotFeed) and feed.connector_id == "bitmart"


def test_the_spot_feed_follows_the_servers_book_and_trades():
    async def scenario() -> None:
        exchange = SimExchange(busy_market())
        server = BitmartSpotServer(exchange)
        await server.start()
        clock = LiveClock()
        feed = BitmartSpotFeed(BitmartRestClient(server.rest_url, clock=clock), ws_url=server.ws_url, clock=clock)
        events: list = []
        try:
            await feed.prepare(["BTC-USDT"])
            venue = exchange.trading_rules("BTC-USDT")
            rules = feed.trading_rules("BTC-USDT")
            assert (rules.tick_size, rules.step_size, rules.min_size) == (venue.tick_size, venue.step_size,
                                                                          venue.min_size)
            await feed.start(["BTC-USDT"], events.append)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while not ([e for e in events if isinstance(e, BookSnapshot)] and [e for e in events
                                                                               if isinstance(e, Trade)]):
                assert loop.time() < deadline, events[-5:]
                await asyncio.sleep(0.05)
            snap = [e for e in events if isinstance(e, BookSnapshot)][-1]
            assert snap.bids and snap.asks and snap.bids[0][0] < snap.asks[0][0]
            trade = [e for e in events if isinstance(e, Trade)][0]
            assert trade.price > 0 and trade.amount > 0 and trade.aggressor in (Side.BUY, Side.SELL)
            async with aiohttp.ClientSession() as session, session.ws_connect(server.public_ws_url) as ws:
                await ws.send_str(json.dumps({"op": "subscribe", "args": ["spot/depth5:DOGE_USDT"]}))
                refused = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                assert refused["event"] == "error" and refused["errorCode"] == 30039
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{server.rest_url}{spot_feed.BOOKS_PATH}?symbol=BTC_USDT&limit=5") as resp:
                    books = await resp.json()
            assert books["code"] == 1000 and len(books["data"]["bids"]) == 5
        finally:
            await feed.stop()
            await server.stop()
            exchange.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_exchange_sim_serves_bitmart_spot_data_without_keys():
    import urllib.request

    from venue_servers import serve_cli, stop_cli

    proc, line, base = serve_cli("bitmart")
    try:
        with urllib.request.urlopen(f"{base}{spot_feed.SYMBOLS_DETAILS_PATH}", timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["code"] == 1000 and [s["symbol"] for s in body["data"]["symbols"]] == ["BTC_USDT"]
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
