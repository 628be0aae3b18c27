"""Binance server: 24 h tickers, recent trades and klines (REST and streams) from the trades it
prints; symbolConfig; and a stream the venue does not have is refused, never left silent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from test_server_kit import SYMBOL, rest_client, run, serving, static_settings, synthetic_settings, ws_connect

from pmm.connectors.binance_perpetual.server import BinanceServer
from pmm.core.events import Trade
from pmm.core.model import Side, TradeId

D = Decimal
NOW = 1_767_261_630.5  # 2026-01-01 10:00:30.5 UTC
NOW_MS = int(NOW * 1000)
MINUTE_MS = 60_000


class FixedClock:
    def now(self) -> float:
        return NOW


def _print(server: BinanceServer, trades: list[tuple[float, str, str, Side]]) -> None:
    """Market trades (seconds before NOW, price, size, aggressor) printed by the server's streams."""
    for n, (ago, price, size, aggressor) in enumerate(trades, start=1):
        ts = NOW - ago
        server.streams.on_public(Trade("BTC-USDT", TradeId(f"t{n}"), D(price), D(size), aggressor, ts, ts))


TRADES = [(150.0, "65000.0", "0.100", Side.BUY), (149.0, "65010.0", "0.200", Side.SELL),
          (20.0, "64990.0", "0.300", Side.BUY)]


def test_rest_statistics_are_computed_from_the_printed_trades() -> None:
    got: dict[str, Any] = {}

    async def scenario() -> None:
        async with serving(static_settings(), clock=FixedClock()) as server, rest_client(server) as rest:
            _print(server, TRADES)
            for name, path, params in [
                ("ticker", "/fapi/v1/ticker/24hr", {"symbol": SYMBOL}),
                ("tickers", "/fapi/v1/ticker/24hr", {}),
                ("agg", "/fapi/v1/aggTrades", {"symbol": SYMBOL}),
                ("agg_from", "/fapi/v1/aggTrades", {"symbol": SYMBOL, "fromId": 2}),
                ("agg_window", "/fapi/v1/aggTrades", {"symbol": SYMBOL, "startTime": NOW_MS - 30_000,
                                                      "endTime": NOW_MS}),
                ("agg_too_long", "/fapi/v1/aggTrades", {"symbol": SYMBOL, "startTime": NOW_MS - 7_200_000,
                                                        "endTime": NOW_MS}),
                ("trades", "/fapi/v1/trades", {"symbol": SYMBOL, "limit": 2}),
                ("klines", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "1m"}),
                ("klines_last", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "1m", "limit": 1}),
                ("klines_3m", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "3m"}),
                ("klines_bad", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "2m"}),
                ("klines_limit", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "1m", "limit": 1501}),
            ]:
                got[name] = await rest.public(path, **params)
            got["config"] = await rest.signed("GET", "/fapi/v1/symbolConfig", {"symbol": SYMBOL})

    run(scenario())
    status, ticker, _ = got["ticker"]
    assert status == 200 and got["tickers"][1] == [ticker]
    assert {k: v for k, v in ticker.items() if k not in ("openTime", "closeTime")} == {
        "symbol": SYMBOL, "priceChange": "-10.0", "priceChangePercent": "-0.015", "weightedAvgPrice": "64998.3",
        "lastPrice": "64990.0", "lastQty": "0.300", "openPrice": "65000.0", "highPrice": "65010.0",
        "lowPrice": "64990.0", "volume": "0.600", "quoteVolume": "38999.0000", "firstId": 1, "lastId": 3, "count": 3}
    assert (ticker["openTime"], ticker["closeTime"]) == (NOW_MS - 86_400_000, NOW_MS)

    agg = got["agg"][1]
    assert agg == [{"a": 1, "p": "65000.0", "q": "0.100", "f": 1, "l": 1, "T": NOW_MS - 150_000, "m": False},
                   {"a": 2, "p": "65010.0", "q": "0.200", "f": 2, "l": 2, "T": NOW_MS - 149_000, "m": True},
                   {"a": 3, "p": "64990.0", "q": "0.300", "f": 3, "l": 3, "T": NOW_MS - 20_000, "m": False}]
    assert got["agg_from"][1] == agg[1:] and got["agg_window"][1] == agg[2:]
    assert got["agg_too_long"][:2] == (400, {"code": -1127, "msg": "More than 1 hours between startTime and endTime."})
    assert got["trades"][1] == [
        {"id": 2, "price": "65010.0", "qty": "0.200", "quoteQty": "13002.0000", "time": NOW_MS - 149_000,
         "isBuyerMaker": True, "isRPITrade": False},
        {"id": 3, "price": "64990.0", "qty": "0.300", "quoteQty": "19497.0000", "time": NOW_MS - 20_000,
         "isBuyerMaker": False, "isRPITrade": False}]

    first_minute = (NOW_MS - 150_000) // MINUTE_MS * MINUTE_MS  # 09:58
    klines = got["klines"][1]
    assert [k[0] for k in klines] == [first_minute, first_minute + MINUTE_MS, first_minute + 2 * MINUTE_MS]
    assert klines[0] == [first_minute, "65000.0", "65010.0", "65000.0", "65010.0", "0.300", first_minute + 59_999,
                         "19502.0000", 2, "0.100", "6500.0000", "0"]
    assert klines[1][1:6] == ["65010.0"] * 4 + ["0.000"] and klines[1][8] == 0  # no trade: flat at the last close
    assert klines[2][1:6] == ["64990.0"] * 4 + ["0.300"] and got["klines_last"][1] == klines[2:]
    # 3-minute candles start at 09:57 (the trades of 09:58) and 10:00 (the trade of 10:00:10)
    assert [(k[0], k[8]) for k in got["klines_3m"][1]] == [(first_minute - MINUTE_MS, 2),
                                                          (first_minute + 2 * MINUTE_MS, 1)]
    assert got["klines_bad"][:2] == (400, {"code": -1120, "msg": "Invalid interval."})
    assert got["klines_limit"][:2] == (400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."})

    status, config, _ = got["config"]
    assert status == 200 and config == [{"symbol": SYMBOL, "marginType": "CROSSED", "isAutoAddMargin": False,
                                         "leverage": 20, "maxNotionalValue": "1000000000"}]


def test_every_statistics_stream_sends() -> None:
    """Tickers every 2 s, arrays every second, klines every 250 ms: each of them delivers."""
    streams = ["btcusdt@ticker", "btcusdt@miniTicker", "btcusdt@kline_1m", "!ticker@arr", "!miniTicker@arr",
               "!bookTicker"]
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, "/stream") as ws:
            await ws.send({"method": "SUBSCRIBE", "params": streams, "id": 7})
            assert await ws.next() == {"result": None, "id": 7}
            while set(seen) != set(streams):
                msg = await ws.next(timeout=5)
                seen.setdefault(msg["stream"], msg["data"])

    run(scenario())
    assert seen["btcusdt@ticker"]["e"] == "24hrTicker" and seen["btcusdt@miniTicker"]["e"] == "24hrMiniTicker"
    assert seen["btcusdt@kline_1m"]["k"]["i"] == "1m" and seen["!bookTicker"]["e"] == "bookTicker"
    assert [row["e"] for row in seen["!ticker@arr"]] == ["24hrTicker"]
    assert [row["e"] for row in seen["!miniTicker@arr"]] == ["24hrMiniTicker"]


def test_a_stream_the_venue_does_not_have_is_refused() -> None:
    got: dict[str, Any] = {}

    async def scenario() -> None:
        async with serving() as server:
            async with ws_connect(server, "/ws") as ws:
                await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth", "btcusdt@forceOrder"], "id": 1})
                got["refusal"] = await ws.next()
                await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": 2})
                got["listed"] = await ws.next()
            async with ws_connect(server, "/stream?streams=btcusdt@depth/btcusdt@continuousKline_1m") as ws:
                got["url_refusal"] = await ws.next()
                got["close"] = await ws.ws.receive(5)

    run(scenario())
    assert got["refusal"] == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}
    assert got["listed"] == {"result": [], "id": 2}  # the whole request was refused
    assert got["url_refusal"]["error"]["code"] == 2 and "continuousKline_1m" in got["url_refusal"]["error"]["msg"]
    assert got["close"].data == 1008


def test_a_market_that_never_traded_has_empty_statistics() -> None:
    """No trade ids (-1) and no candles: nothing is made up before the first trade."""

    async def scenario() -> dict[str, Any]:
        async with serving(static_settings()) as server, rest_client(server) as rest:
            _, ticker, _ = await rest.public("/fapi/v1/ticker/24hr", symbol=SYMBOL)
            _, klines, _ = await rest.public("/fapi/v1/klines", symbol=SYMBOL, interval="1m")
            _, agg, _ = await rest.public("/fapi/v1/aggTrades", symbol=SYMBOL)
            return {"ticker": ticker, "klines": klines, "agg": agg}

    got = run(scenario())
    assert (got["ticker"]["count"], got["ticker"]["firstId"], got["ticker"]["lastId"]) == (0, -1, -1)
    assert (got["ticker"]["volume"], got["klines"], got["agg"]) == ("0.000", [], [])
