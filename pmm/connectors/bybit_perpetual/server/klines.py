"""Klines of the Bybit server, from the trades it prints on `publicTrade`: `GET /v5/market/kline`
and the `kline.{interval}.{symbol}` topic (Bybit's docs, market/kline and websocket/public/kline).

REST lists candles newest first as string arrays `[start, open, high, low, close, volume,
turnover]`. The topic pushes the open candle every second (the docs say every 1-60 s), and a candle
that closed since the last push once more with `confirm: true`. Candles come from
common/trade_stats.py: a week of one-minute candles, flat at the last close where nothing traded;
before a market's first trade there is none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import param_error
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.common.numbers import ms, plain
from pmm.connectors.common.trade_stats import NO_TRADE_ID, Candle, CandleSeries, Interval
from pmm.core.clock import Clock
from pmm.core.events import MarketEvent, Trade
from pmm.core.model import Side

_DAY = 1440
INTERVALS: Final[dict[str, Interval]] = {
    **{str(minutes): Interval(minutes) for minutes in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)},
    "D": Interval(_DAY), "W": Interval(7 * _DAY), "M": Interval(months=1),
}
_PUSH_EVERY_S: Final = 1.0
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000


def kline_topic(interval: str, symbol: str) -> str:
    return c.TOPIC_KLINE.format(interval=interval, symbol=symbol)


class MarketKlines:
    """Every symbol's candles, the kline endpoint and the kline topics."""

    def __init__(self, symbols: SymbolMap, publish: Callable[[str, dict[str, Any]], None],
                 has_subscribers: Callable[[str], bool], clock: Clock) -> None:
        self._symbols = symbols
        self._publish = publish
        self._has_subscribers = has_subscribers
        self._clock = clock
        self._series = {symbol: CandleSeries() for symbol in symbols.symbols()}
        self._pushed_open: dict[str, int] = {}  # topic -> start of the candle last pushed
        self._due = 0.0

    def on_public(self, event: MarketEvent) -> None:
        """The simulator's public events: its trades are the ones `publicTrade` prints."""
        if isinstance(event, Trade):
            self._series[self._symbols.symbol(event.market)].add(ms(event.ts), event.price, event.amount,
                                                                 NO_TRADE_ID, event.aggressor is Side.BUY)

    async def kline(self, req: RawRequest) -> dict[str, Any]:
        p.linear(req, required=False)
        symbol = p.symbol(req, self._symbols)
        assert symbol is not None
        name = req.text("interval")
        interval = INTERVALS.get(name or "")
        if interval is None:
            raise param_error(f"params error: interval invalid, must be one of {', '.join(INTERVALS)}, was {name}")
        size = p.limit(req, DEFAULT_LIMIT, MAX_LIMIT)
        start, end = p.integer(req, "start"), p.integer(req, "end")
        now_ms = ms(self._clock.now())
        candles = [k for k in self._series[symbol].candles(interval, now_ms, start)
                   if (start is None or k.start_ms >= start) and (end is None or k.start_ms <= end)]
        grid = self._symbols.grid(symbol)
        rows = [[str(k.start_ms), grid.price(k.open), grid.price(k.high), grid.price(k.low), grid.price(k.close),
                 grid.qty(k.volume), plain(k.turnover)] for k in reversed(candles[-size:])]
        return {"category": c.CATEGORY_LINEAR, "symbol": symbol, "list": rows}

    def on_tick(self, now: float) -> None:
        if now < self._due:
            return
        self._due = (math.floor(now / _PUSH_EVERY_S) + 1) * _PUSH_EVERY_S
        for symbol, series in self._series.items():
            for name, interval in INTERVALS.items():
                topic = kline_topic(name, symbol)
                if self._has_subscribers(topic):
                    self._push(topic, symbol, name, interval, series, now)

    def _push(self, topic: str, symbol: str, name: str, interval: Interval, series: CandleSeries,
              now: float) -> None:
        now_ms = ms(now)
        previous = self._pushed_open.get(topic)
        candles = series.candles(interval, now_ms, previous if previous is not None else interval.start_of(now_ms))
        if not candles:
            return  # no trade yet: no price to show
        rows = [self._row(symbol, name, candles[0], True, now_ms)] if previous is not None and \
            previous < candles[-1].start_ms else []
        rows.append(self._row(symbol, name, candles[-1], False, now_ms))
        self._pushed_open[topic] = candles[-1].start_ms
        self._publish(topic, {"topic": topic, "data": rows, "ts": now_ms, "type": c.TYPE_SNAPSHOT})

    def _row(self, symbol: str, name: str, candle: Candle, confirm: bool, now_ms: int) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        return {"start": candle.start_ms, "end": candle.end_ms - 1, "interval": name, "open": grid.price(candle.open),
                "close": grid.price(candle.close), "high": grid.price(candle.high), "low": grid.price(candle.low),
                "volume": grid.qty(candle.volume), "turnover": plain(candle.turnover), "confirm": confirm,
                "timestamp": candle.last_trade_ms or now_ms}
