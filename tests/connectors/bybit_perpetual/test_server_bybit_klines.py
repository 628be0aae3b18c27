"""Bybit server: klines from the trades it prints (`GET /v5/market/kline` and the `kline` topic),
and the account answers ccxt.pro needs before it streams positions and the wallet."""

from __future__ import annotations

from decimal import Decimal

from test_server_bybit_kit import START, StepClock, Venue, run, running, static_settings

from pmm.core.events import Trade
from pmm.core.model import Side, TradeId

D = Decimal
MINUTE_MS = 60_000
FIRST_MINUTE_MS = int(START * 1000) // MINUTE_MS * MINUTE_MS


def _with(check):
    async def go():
        async with running(static_settings(), clock=StepClock()) as venue:
            venue.step()
            await check(venue)
    run(go())


def _trade(venue: Venue, price: str, size: str, aggressor: Side) -> None:
    now = venue.clock.now()
    venue.server.klines.on_public(Trade("BTC-USDT", TradeId(f"t{now}"), D(price), D(size), aggressor, now, now))


def test_kline_endpoint_lists_candles_newest_first():
    async def check(venue: Venue):
        _trade(venue, "65000.0", "0.100", Side.BUY)
        venue.step(1.0)
        _trade(venue, "65010.0", "0.200", Side.SELL)
        venue.step(120.0)  # a minute without trades, then a trade in the third
        _trade(venue, "64990.0", "0.300", Side.BUY)
        answer = await venue.get("/v5/market/kline", {"category": "linear", "symbol": "BTCUSDT", "interval": "1"},
                                 signed=False)
        assert answer.code == 0
        assert answer.result == {"category": "linear", "symbol": "BTCUSDT", "list": [
            [str(FIRST_MINUTE_MS + 2 * MINUTE_MS), "64990.0", "64990.0", "64990.0", "64990.0", "0.300", "19497.0000"],
            [str(FIRST_MINUTE_MS + MINUTE_MS), "65010.0", "65010.0", "65010.0", "65010.0", "0.000", "0"],
            [str(FIRST_MINUTE_MS), "65000.0", "65010.0", "65000.0", "65010.0", "0.300", "19502.0000"]]}
        limited = await venue.get("/v5/market/kline", {"category": "linear", "symbol": "BTCUSDT", "interval": "1",
                                                       "limit": 1, "end": FIRST_MINUTE_MS + MINUTE_MS}, signed=False)
        assert [row[0] for row in limited.result["list"]] == [str(FIRST_MINUTE_MS + MINUTE_MS)]
        [day] = (await venue.get("/v5/market/kline", {"category": "linear", "symbol": "BTCUSDT", "interval": "D"},
                                 signed=False)).result["list"]
        assert day[1:6] == ["65000.0", "65010.0", "64990.0", "64990.0", "0.600"]
        bad = await venue.get("/v5/market/kline", {"category": "linear", "symbol": "BTCUSDT", "interval": "2"},
                              signed=False)
        assert bad.code == 10001 and "interval" in bad.body["retMsg"]
    _with(check)


def test_kline_topic_pushes_the_open_candle_and_confirms_the_closed_one():
    async def check(venue: Venue):
        ws = await venue.ws()
        await ws.send({"op": "subscribe", "req_id": "k", "args": ["kline.1.BTCUSDT"]})
        assert (await ws.recv())["success"] is True
        _trade(venue, "65000.0", "0.100", Side.BUY)
        venue.step(1.0)
        first = await ws.until(lambda m: m.get("topic") == "kline.1.BTCUSDT")
        [row] = first["data"]
        assert (row["start"], row["end"], row["interval"], row["open"], row["volume"], row["confirm"]) == (
            FIRST_MINUTE_MS, FIRST_MINUTE_MS + MINUTE_MS - 1, "1", "65000.0", "0.100", False)
        assert first["type"] == "snapshot" and row["timestamp"] == int(START * 1000)
        venue.step(MINUTE_MS / 1000)
        rolled = await ws.until(lambda m: m.get("topic") == "kline.1.BTCUSDT" and len(m["data"]) == 2)
        closed, opened = rolled["data"]
        assert (closed["start"], closed["confirm"], closed["close"]) == (FIRST_MINUTE_MS, True, "65000.0")
        assert (opened["start"], opened["confirm"], opened["volume"]) == (FIRST_MINUTE_MS + MINUTE_MS, False, "0.000")
    _with(check)


def test_an_account_without_inverse_or_option_positions_lists_none():
    """ccxt.pro's watch_positions reads every category it knows before it streams."""
    async def check(venue: Venue):
        await venue.order("Buy", "0.01")
        for category in ("inverse", "option"):
            answer = await venue.get("/v5/position/list", {"category": category})
            assert (answer.code, answer.result) == (0, {"category": category, "list": [], "nextPageCursor": ""})
        linear = await venue.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
        assert [p["size"] for p in linear.result["list"]] == ["0.010"]
        assert (await venue.get("/v5/position/list", {"category": "spot"})).code == 10001
    _with(check)


def test_the_api_key_belongs_to_a_unified_trading_account():
    """`unified` 1 with `uta` 1 would be the older Unified Margin Account (ccxt.pro then waits on
    the wrong wallet topic)."""
    async def check(venue: Venue):
        info = (await venue.get("/v5/user/query-api")).result
        assert (info["unified"], info["uta"]) == (0, 1)
    _with(check)
