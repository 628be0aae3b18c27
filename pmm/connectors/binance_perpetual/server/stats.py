"""Trade statistics of the Binance server, from the trades it prints on `@aggTrade` / `@trade`:
24-hour tickers, recent trades and klines, as REST answers and as streams.

REST (shapes of the USD-M docs' examples): `GET /fapi/v1/ticker/24hr`, `/fapi/v1/aggTrades`,
`/fapi/v1/trades`, `/fapi/v1/klines`. The simulated venue keeps its last 1000 trades (older
aggTrades are not listed) and a week of one-minute candles (see common/trade_stats.py).

Streams, on the documented cadence: `<symbol>@ticker` and `<symbol>@miniTicker` every 2 s,
`!ticker@arr` and `!miniTicker@arr` every second with the symbols whose statistics changed, and
`<symbol>@kline_<interval>` every 250 ms with the open candle (a candle that closed since the last
push is sent once more, final, with `"x": true`). Until a market's first trade there is no price to
show: its tickers and klines wait for it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, invalid, missing
from pmm.connectors.binance_perpetual.server.market import optional_symbol, symbol_param
from pmm.connectors.binance_perpetual.server.streams import Channel
from pmm.connectors.binance_perpetual.server.wire import SymbolMap
from pmm.connectors.common.numbers import fixed, ms, plain
from pmm.connectors.common.trade_stats import Candle, CandleSeries, Interval, TradeWindow
from pmm.core.clock import Clock

_DAY_S = 86_400.0
_HOUR_MS = 3_600_000
_KEEP_TRADES = 1000
_TICKER_EVERY_S, _ARRAY_EVERY_S, _KLINE_EVERY_S = 2.0, 1.0, 0.25
_KLINE_MINUTES = (1, 3, 5, 15, 30, 60, 120, 240, 360, 480, 720, 1440, 3 * 1440, 7 * 1440)
KLINE_INTERVALS: dict[str, Interval] = dict(zip(
    c.STREAM_KLINE_INTERVALS, [Interval(minutes) for minutes in _KLINE_MINUTES] + [Interval(months=1)], strict=True))


class _SymbolStats:
    def __init__(self) -> None:
        self.day = TradeWindow(_DAY_S)
        self.candles = CandleSeries()
        self.recent: deque[dict[str, Any]] = deque(maxlen=_KEEP_TRADES)  # aggTrades rows, oldest first
        self.last: tuple[Decimal, Decimal] | None = None  # price, qty of the last trade
        self.pushed: dict[str, tuple[Any, ...]] = {}  # what !ticker@arr / !miniTicker@arr last sent
        self.kline_open: dict[str, int] = {}  # interval -> start of the candle last pushed


class MarketStats:
    """Every symbol's trade statistics, their REST endpoints and their streams."""

    def __init__(self, symbols: SymbolMap, publish: Callable[[Channel, Any], None],
                 has_subscribers: Callable[[Channel], bool], clock: Clock) -> None:
        self._symbols = symbols
        self._publish = publish
        self._has_subscribers = has_subscribers
        self._clock = clock
        self._stats = {symbol: _SymbolStats() for symbol in symbols.symbols()}
        self._due = {"ticker": 0.0, "array": 0.0, "kline": 0.0}

    def on_trade(self, symbol: str, trade_id: int, price: Decimal, qty: Decimal, buyer_is_maker: bool,
                 ts: float) -> None:
        st = self._stats[symbol]
        st.day.add(ts, price, qty, trade_id)
        st.candles.add(ms(ts), price, qty, trade_id, taker_buys=not buyer_is_maker)
        st.last = (price, qty)
        grid = self._symbols.grid(symbol)
        st.recent.append({"a": trade_id, "p": grid.price(price), "q": grid.qty(qty), "f": trade_id, "l": trade_id,
                          "T": ms(ts), "m": buyer_is_maker})

    # --- REST -----------------------------------------------------------------------------------

    async def ticker_24hr(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        now = self._clock.now()
        rows = [self._ticker(s, now) for s in ([symbol] if symbol else self._symbols.symbols())]
        return rows[0] if symbol else rows

    async def agg_trades(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        limit = self._limit(params, 500, 1000)
        rows = list(self._stats[symbol].recent)
        from_id, start, end = params.integer("fromId"), params.integer("startTime"), params.integer("endTime")
        if start is not None and end is not None and end - start > _HOUR_MS:
            raise BinanceApiError(c.ERR_TOO_LONG_WINDOW, c.ERROR_MESSAGES[c.ERR_TOO_LONG_WINDOW].format(hours=1))
        if from_id is not None:
            return [r for r in rows if r["a"] >= from_id][:limit]
        if start is None and end is not None:
            start = end - _HOUR_MS  # one side of the window given: the hour next to it
        if start is not None:
            end = end if end is not None else start + _HOUR_MS
            return [r for r in rows if start <= r["T"] <= end][:limit]
        return rows[-limit:]

    async def trades(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        limit = self._limit(params, 500, 1000)
        return [{"id": r["a"], "price": r["p"], "qty": r["q"], "quoteQty": plain(Decimal(r["p"]) * Decimal(r["q"])),
                 "time": r["T"], "isBuyerMaker": r["m"], "isRPITrade": False}
                for r in list(self._stats[symbol].recent)[-limit:]]

    async def klines(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        name = params.get("interval")
        if name is None:
            raise missing("interval")
        interval = KLINE_INTERVALS.get(name)
        if interval is None:
            raise api_error(c.ERR_BAD_INTERVAL)
        limit = self._limit(params, 500, 1500)
        start, end = params.integer("startTime"), params.integer("endTime")
        now_ms = ms(self._clock.now())
        candles = [k for k in self._stats[symbol].candles.candles(interval, now_ms, start)
                   if (start is None or k.start_ms >= start) and (end is None or k.start_ms <= end)]
        chosen = candles[:limit] if start is not None else candles[-limit:]
        grid = self._symbols.grid(symbol)
        return [[k.start_ms, grid.price(k.open), grid.price(k.high), grid.price(k.low), grid.price(k.close),
                 grid.qty(k.volume), k.end_ms - 1, plain(k.turnover), k.count, grid.qty(k.taker_buy_volume),
                 plain(k.taker_buy_turnover), "0"] for k in chosen]

    @staticmethod
    def _limit(params: RawParams, default: int, maximum: int) -> int:
        limit = params.integer("limit", default)
        if limit is None or not 1 <= limit <= maximum:
            raise invalid("limit")
        return limit

    # --- the numbers ----------------------------------------------------------------------------

    def _ticker(self, symbol: str, now: float) -> dict[str, Any]:
        st = self._stats[symbol]
        st.day.prune(now)
        grid = self._symbols.grid(symbol)
        last_price, last_qty = st.last if st.last is not None else (Decimal(0), Decimal(0))
        day = st.day
        opening = day.first_price(last_price)
        change_pct = (last_price - opening) / opening * 100 if opening else Decimal(0)
        average = day.turnover / day.volume if day.volume else last_price
        return {
            "symbol": symbol, "priceChange": grid.price(last_price - opening),
            "priceChangePercent": fixed(change_pct, 3), "weightedAvgPrice": fixed(average, grid.price_places),
            "lastPrice": grid.price(last_price), "lastQty": grid.qty(last_qty), "openPrice": grid.price(opening),
            "highPrice": grid.price(day.high(last_price)), "lowPrice": grid.price(day.low(last_price)),
            "volume": grid.qty(day.volume), "quoteVolume": plain(day.turnover), "openTime": ms(now - _DAY_S),
            "closeTime": ms(now), "firstId": day.first_id(), "lastId": day.last_id(), "count": day.count,
        }

    def _ticker_event(self, symbol: str, now: float) -> dict[str, Any]:
        t = self._ticker(symbol, now)
        return {"e": c.EVENT_24HR_TICKER, "E": ms(now), "s": symbol, "p": t["priceChange"],
                "P": t["priceChangePercent"], "w": t["weightedAvgPrice"], "c": t["lastPrice"], "Q": t["lastQty"],
                "o": t["openPrice"], "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"],
                "O": t["openTime"], "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"]}

    def _mini_ticker_event(self, symbol: str, now: float) -> dict[str, Any]:
        t = self._ticker(symbol, now)
        return {"e": c.EVENT_24HR_MINI_TICKER, "E": ms(now), "s": symbol, "c": t["lastPrice"], "o": t["openPrice"],
                "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"]}

    def _kline_event(self, symbol: str, name: str, candle: Candle, closed: bool, now: float) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        return {"e": c.EVENT_KLINE, "E": ms(now), "s": symbol, "k": {
            "t": candle.start_ms, "T": candle.end_ms - 1, "s": symbol, "i": name, "f": candle.first_id,
            "L": candle.last_id, "o": grid.price(candle.open), "c": grid.price(candle.close),
            "h": grid.price(candle.high), "l": grid.price(candle.low), "v": grid.qty(candle.volume), "n": candle.count,
            "x": closed, "q": plain(candle.turnover), "V": grid.qty(candle.taker_buy_volume),
            "Q": plain(candle.taker_buy_turnover), "B": "0"}}

    # --- streams --------------------------------------------------------------------------------

    def _is_due(self, kind: str, every: float, now: float) -> bool:
        if now < self._due[kind]:
            return False
        self._due[kind] = (math.floor(now / every) + 1) * every
        return True

    def on_tick(self, now: float) -> None:
        traded = [s for s, st in self._stats.items() if st.last is not None]
        if self._is_due("ticker", _TICKER_EVERY_S, now):
            for symbol in traded:
                if self._has_subscribers(("ticker", symbol)):
                    self._publish(("ticker", symbol), self._ticker_event(symbol, now))
                if self._has_subscribers(("miniTicker", symbol)):
                    self._publish(("miniTicker", symbol), self._mini_ticker_event(symbol, now))
        if self._is_due("array", _ARRAY_EVERY_S, now):
            for kind, build in (("ticker", self._ticker_event), ("miniTicker", self._mini_ticker_event)):
                if self._has_subscribers((kind + "All",)):
                    rows = [row for row in (build(s, now) for s in traded) if self._changed(kind, row)]
                    if rows:
                        self._publish((kind + "All",), rows)
        if self._is_due("kline", _KLINE_EVERY_S, now):
            for symbol in traded:
                for name, interval in KLINE_INTERVALS.items():
                    if self._has_subscribers(("kline", symbol, name)):
                        self._push_kline(symbol, name, interval, now)

    def _changed(self, kind: str, row: dict[str, Any]) -> bool:
        """Whether a row of an `!…@arr` stream differs from the one last sent (event time aside)."""
        st = self._stats[row["s"]]
        digest = tuple(v for k, v in row.items() if k not in ("E", "O", "C"))
        if st.pushed.get(kind) == digest:
            return False
        st.pushed[kind] = digest
        return True

    def _push_kline(self, symbol: str, name: str, interval: Interval, now: float) -> None:
        st = self._stats[symbol]
        now_ms = ms(now)
        previous = st.kline_open.get(name)
        since = previous if previous is not None else interval.start_of(now_ms)
        candles = st.candles.candles(interval, now_ms, since)
        if not candles:
            return
        current = candles[-1]
        if previous is not None and previous < current.start_ms:
            self._publish(("kline", symbol, name), self._kline_event(symbol, name, candles[0], True, now))
        st.kline_open[name] = current.start_ms
        self._publish(("kline", symbol, name), self._kline_event(symbol, name, current, False, now))
