"""Independent Bybit clients against the Bybit server, unchanged apart from the base URL
(exchange_apis.md §D2, §D4): pybit (sync REST, threaded WebSockets) and ccxt (async REST, ccxt.pro
WebSockets). Each test is skipped when its library is not installed (neither is a pmm dependency)."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from test_server_bybit_kit import API_KEY, API_SECRET, StepClock, run, running, static_settings, synthetic_settings

from pmm.core.model import Side

STEP = 0.0625


def _pybit():
    return pytest.importorskip("pybit.unified_trading", reason="pybit is not installed (pip install pybit)")


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_pybit_rest_and_private_streams(monkeypatch):
    ut = _pybit()
    exceptions = pytest.importorskip("pybit.exceptions")

    async def go():
        async with running(static_settings()) as venue:
            def client():
                http = ut.HTTP(testnet=False, api_key=API_KEY, api_secret=API_SECRET)
                http.endpoint = venue.server.rest_url  # the documented knob (§D2)
                assert http.get_server_time()["retCode"] == 0
                book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=50)["result"]
                assert book["b"][0] == ["64990.0", "1.000"] and book["a"][0] == ["65010.0", "1.000"]
                wallet = http.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]
                assert wallet["coin"][0]["walletBalance"] == "10000.00000000"
                placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                                          qty="0.01", price="60000", timeInForce="PostOnly", orderLinkId="pybit-1",
                                          positionIdx=0)["result"]
                opened = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
                assert [o["orderLinkId"] for o in opened] == ["pybit-1"]
                assert http.cancel_order(category="linear", symbol="BTCUSDT", orderId=placed["orderId"])["retCode"] == 0
                assert http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="10",
                                         sellLeverage="10")["retCode"] == 0
                with pytest.raises(exceptions.InvalidRequestError, match="110043"):
                    http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="10", sellLeverage="10")
                assert http.switch_position_mode(category="linear", symbol="BTCUSDT", mode=3)["retCode"] == 0
                assert http.switch_position_mode(category="linear", symbol="BTCUSDT", mode=0)["retCode"] == 0

                # pybit's documented redirect: its module constant, read when a socket is built.
                monkeypatch.setattr(ut, "PRIVATE_WSS", venue.server.private_ws_url)
                got: list[tuple[str, Any]] = []
                ws = ut.WebSocket(testnet=False, channel_type="private", api_key=API_KEY, api_secret=API_SECRET)
                try:
                    ws.order_stream(lambda m: got.append(("order", m["data"][0]["orderStatus"])))
                    ws.execution_stream(lambda m: got.append(("execution", m["data"][0]["execType"])))
                    ws.position_stream(lambda m: got.append(("position", m["data"][0]["size"])))
                    ws.wallet_stream(lambda m: got.append(("wallet", m["data"][0]["coin"][0]["walletBalance"])))
                    _wait(lambda: len(venue.server.hub.clients) == 1 and all(
                        len(c.subscriptions) == 4 for c in venue.server.hub.clients))
                    assert http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                                            qty="0.01")["retCode"] == 0
                    _wait(lambda: {kind for kind, _ in got} == {"order", "execution", "position", "wallet"})
                finally:
                    ws.exit()
                assert ("order", "Filled") in got and ("execution", "Trade") in got and ("position", "0.010") in got
                positions = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
                assert [(p["side"], p["size"]) for p in positions] == [("Buy", "0.010")]
                log = http.get_transaction_log(accountType="UNIFIED", category="linear", type="TRADE")["result"]
                assert log["list"][0]["type"] == "TRADE"

            await asyncio.to_thread(client)
    run(go())


def test_pybit_keeps_the_same_orderbook_as_the_venue(monkeypatch):
    ut = _pybit()

    async def go():
        async with running(synthetic_settings(book_interval_s=STEP), clock=StepClock()) as venue:
            venue.step()
            monkeypatch.setattr(ut, "PUBLIC_WSS", venue.server.ws_url + "/v5/public/{CHANNEL_TYPE}")
            latest: dict[str, Any] = {}
            lock = threading.Lock()

            def on_book(message: dict[str, Any]) -> None:
                with lock:
                    latest["book"] = copy.deepcopy(message["data"])  # pybit's merged book

            ws = await asyncio.to_thread(ut.WebSocket, testnet=False, channel_type="linear")
            try:
                ws.orderbook_stream(50, "BTCUSDT", on_book)
                for _ in range(20):
                    venue.step(STEP)
                    await asyncio.sleep(0.01)
                state = venue.server.streams.state["BTCUSDT"]
                deadline = time.monotonic() + 5
                while True:
                    with lock:
                        book = latest.get("book")
                    if book is not None and book["u"] == state.update_ids[50]:
                        break
                    assert time.monotonic() < deadline, "pybit did not catch up with the venue"
                    await asyncio.sleep(0.02)
            finally:
                await asyncio.to_thread(ws.exit)
            grid = venue.server.symbols.grid("BTCUSDT")
            sim = venue.exchange.book("BTC-USDT")
            assert sorted(book["b"], key=lambda lv: -Decimal(lv[0])) == grid.levels(sim.iter_levels(Side.BUY, 50))
            assert sorted(book["a"], key=lambda lv: Decimal(lv[0])) == grid.levels(sim.iter_levels(Side.SELL, 50))
    run(go())


def test_ccxt_rest_and_pro_streams():
    ccxtpro = pytest.importorskip("ccxt.pro", reason="ccxt is not installed (pip install ccxt)")
    symbol = "BTC/USDT:USDT"

    async def go():
        async with running(static_settings()) as venue:
            exchange = ccxtpro.bybit({"apiKey": API_KEY, "secret": API_SECRET, "enableRateLimit": False,
                                      "options": {"defaultType": "swap"}})
            for key in ("spot", "futures", "v2", "public", "private"):  # §D2: every REST template
                exchange.urls["api"][key] = venue.server.rest_url
            ws_urls = exchange.urls["api"]["ws"]
            ws_urls["public"]["linear"] = venue.server.public_ws_url
            ws_urls["private"]["contract"] = venue.server.private_ws_url
            ws_urls["private"]["spot"]["unified"] = venue.server.private_ws_url
            try:
                markets = await exchange.load_markets()
                assert list(markets) == [symbol]
                market = markets[symbol]
                assert market["precision"]["price"] == 0.1 and market["limits"]["amount"]["min"] == 0.001
                book = await exchange.fetch_order_book(symbol, 50)
                assert book["bids"][0] == [64990.0, 1.0] and book["asks"][0] == [65010.0, 1.0]
                balance = await exchange.fetch_balance()
                assert balance["USDT"]["total"] == 10000.0
                order = await exchange.create_order(symbol, "limit", "buy", 0.01, 60000,
                                                    {"postOnly": True, "clientOrderId": "ccxt-1"})
                opened = await exchange.fetch_open_orders(symbol)
                assert [(o["id"], o["clientOrderId"], o["status"]) for o in opened] == [
                    (order["id"], "ccxt-1", "open")]
                assert (await exchange.cancel_order(order["id"], symbol))["id"] == order["id"]
                await exchange.set_leverage(10, symbol)
                rate = await exchange.fetch_funding_rate(symbol)
                assert rate["fundingRate"] == 0.0001 and rate["markPrice"] == 65000.0
                streamed = await exchange.watch_order_book(symbol, 50)
                assert streamed["bids"][:2] == [[64990.0, 1.0], [64980.0, 2.0]]
                assert streamed["asks"][:2] == [[65010.0, 1.0], [65020.0, 2.0]]
                watching = asyncio.ensure_future(exchange.watch_orders(symbol))
                await asyncio.sleep(0.3)
                await exchange.create_order(symbol, "market", "buy", 0.01, None, {"clientOrderId": "ccxt-2"})
                seen = await asyncio.wait_for(watching, 5)
                assert seen and seen[-1]["clientOrderId"] == "ccxt-2"
                positions = await exchange.fetch_positions([symbol])
                assert [(p["side"], p["contracts"]) for p in positions] == [("long", 0.01)]
                trades = await exchange.fetch_my_trades(symbol)
                assert [t["price"] for t in trades] == [65010.0]
            finally:
                await exchange.close()
    run(go())
