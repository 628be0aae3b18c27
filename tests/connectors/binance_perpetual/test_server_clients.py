"""Binance server driven by independent client libraries (reference/exchange_apis.md §D2): ccxt's
binanceusdm (sync REST and ccxt.pro WebSocket) and binance-futures-connector. Each test is skipped
when its library is not installed (they are not pmm dependencies)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from test_server_kit import KEY, MARKET, SECRET, run, serving, synthetic_settings

from pmm.core.model import Side

SYMBOL = "BTC/USDT:USDT"  # ccxt's name of the perpetual
OPTIONS = {"fetchCurrencies": False, "fetchMargins": False}  # skip ccxt's spot side-calls (§0.4)


def _redirect(node: Any, rest_url: str, ws_url: str) -> Any:
    """Point every ccxt URL at the loopback server, keeping the path (§D2's generic override)."""
    if isinstance(node, dict):
        return {key: _redirect(value, rest_url, ws_url) for key, value in node.items()}
    if isinstance(node, str):
        return re.sub(r"^wss://[^/]+", ws_url, re.sub(r"^https://[^/]+", rest_url, node))
    return node


def test_ccxt_binanceusdm_sync_client() -> None:
    ccxt = pytest.importorskip("ccxt", reason="ccxt is not installed (pip install ccxt to run this interop test)")

    def session(rest_url: str, ws_url: str) -> dict[str, Any]:
        exchange = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET, "options": dict(OPTIONS)})
        exchange.urls["api"] = _redirect(exchange.urls["api"], rest_url, ws_url)
        out: dict[str, Any] = {"markets": exchange.load_markets()}
        out["book"] = exchange.fetch_order_book(SYMBOL, 5)
        order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, 60000, {"timeInForce": "GTX"})
        out["order"] = order
        out["open"] = exchange.fetch_open_orders(SYMBOL)
        out["cancelled"] = exchange.cancel_order(order["id"], SYMBOL)
        out["leverage"] = exchange.set_leverage(10, SYMBOL)
        out["funding"] = exchange.fetch_funding_rate(SYMBOL)
        out["filled"] = exchange.create_order(SYMBOL, "market", "buy", 0.01)
        out["balance"] = exchange.fetch_balance()
        out["positions"] = exchange.fetch_positions([SYMBOL])
        out["trades"] = exchange.fetch_my_trades(SYMBOL)
        return out

    async def scenario() -> dict[str, Any]:
        async with serving() as server:
            return await asyncio.to_thread(session, server.rest_url, server.ws_url)

    got = run(scenario(), timeout=60)
    market = got["markets"][SYMBOL]
    assert market["precision"]["price"] == 0.1 and market["limits"]["cost"]["min"] == 5.0
    assert got["book"]["bids"][0] == [64999.9, 2.0] and got["book"]["asks"][0] == [65000.1, 2.0]
    assert got["order"]["status"] == "open" and got["order"]["clientOrderId"].startswith("x-")
    assert [o["id"] for o in got["open"]] == [got["order"]["id"]]
    assert got["cancelled"]["status"] == "canceled"
    assert got["leverage"]["leverage"] == 10
    assert got["funding"]["fundingRate"] == 0.0001
    assert got["filled"]["status"] == "closed" and got["filled"]["filled"] == 0.01
    assert got["balance"]["USDT"]["total"] == pytest.approx(10000 - 0.3250005)
    [position] = got["positions"]
    assert (position["side"], position["contracts"], position["entryPrice"]) == ("long", 0.01, 65000.1)
    [trade] = got["trades"]
    assert trade["takerOrMaker"] == "taker" and trade["fee"]["cost"] == pytest.approx(0.3250005)


def test_ccxt_pro_order_book_and_orders() -> None:
    pytest.importorskip("ccxt", reason="ccxt is not installed (pip install ccxt to run this interop test)")
    import ccxt.pro as ccxtpro

    async def scenario() -> None:
        async with serving(synthetic_settings()) as server:
            exchange = ccxtpro.binanceusdm({"apiKey": KEY, "secret": SECRET, "options": dict(OPTIONS)})
            exchange.urls["api"] = _redirect(exchange.urls["api"], server.rest_url, server.ws_url)
            try:
                await exchange.load_markets()
                for _ in range(100):  # ccxt syncs snapshot + @depth@100ms diffs with its own algorithm
                    book = await exchange.watch_order_book(SYMBOL)
                    if book["nonce"] == server.streams.last_update_id["BTCUSDT"]:
                        break
                assert book["nonce"] == server.streams.last_update_id["BTCUSDT"]
                sim_bids = server.exchange.book(MARKET).levels(Side.BUY)
                assert [[Decimal(str(p)), Decimal(str(q))] for p, q in book["bids"]] == [[p, q] for p, q in sim_bids]
                watching = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
                await asyncio.sleep(0.3)
                await exchange.create_order(SYMBOL, "market", "buy", 0.01)
                orders = await asyncio.wait_for(watching, 5)
                assert orders[-1]["symbol"] == SYMBOL
            finally:
                await exchange.close()

    run(scenario(), timeout=30)


def test_binance_futures_connector() -> None:
    pytest.importorskip("binance.um_futures", reason="binance-futures-connector is not installed")
    from binance.um_futures import UMFutures
    from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

    def session(rest_url: str, ws_url: str) -> dict[str, Any]:
        client = UMFutures(key=KEY, secret=SECRET, base_url=rest_url)
        out: dict[str, Any] = {"time": client.time(), "depth": client.depth("BTCUSDT", limit=5)}
        order = client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=0.01, price=60000,
                                 timeInForce="GTX", newClientOrderId="my-oid-1")
        out["cancel"] = client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
        out["balance"] = client.balance(recvWindow=5000)
        out["leverage"] = client.change_leverage(symbol="BTCUSDT", leverage=20)
        key = client.new_listen_key()["listenKey"]
        out["renewed"] = client.renew_listen_key(key)
        received: list[Any] = []
        stream = UMFuturesWebsocketClient(stream_url=ws_url, on_message=lambda _, msg: received.append(json.loads(msg)))
        stream.diff_book_depth(symbol="btcusdt", speed=100)
        deadline = time.monotonic() + 5
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stream.stop()
        out["stream"] = received
        return out

    async def scenario() -> dict[str, Any]:
        async with serving(synthetic_settings()) as server:
            return await asyncio.to_thread(session, server.rest_url, server.ws_url)

    got = run(scenario(), timeout=30)
    assert got["depth"]["lastUpdateId"] > 0 and got["cancel"]["status"] == "CANCELED"
    assert got["balance"][0]["asset"] == "USDT" and got["leverage"]["leverage"] == 20
    assert len(got["renewed"]["listenKey"]) == 64
    ack, *events = got["stream"]
    assert ack["result"] is None and isinstance(ack["id"], int)  # the connector's id is a ms timestamp
    assert events and all(e["e"] == "depthUpdate" for e in events)
