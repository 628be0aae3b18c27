"""Market streams of the Binance server, built from the simulator's public events.

Depth: the simulator redraws or patches its book; this module keeps a mirror of the book that was
last published and turns every change into a `depthUpdate` diff whose update ids follow Binance's
futures rules: an event covers ids U..u (one id per changed level) and carries `pu` = the previous
event's `u`. The REST snapshot is the mirror with `lastUpdateId` = the last `u`, so the documented
sync algorithm (buffer, snapshot, drop u < lastUpdateId, first event U <= lastUpdateId <= u, then
pu == previous u) rebuilds exactly the simulator's book. Diffs are pushed as the book changes (the
simulator steps every `book_interval_s`), not batched on 100/250/500 ms boundaries.

Also: partial depth (@depth5/10/20), @bookTicker and !bookTicker on every top-of-book change,
@aggTrade and @trade from the simulator's market trades, @markPrice every 3 s / @markPrice@1s every
second, and the funding-rate history (a settlement is seen when the advertised next funding time
moves on). Tickers and klines: stats.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.faults import FaultInjector
from pmm.connectors.binance_perpetual.server.wire import SymbolMap, money
from pmm.connectors.common.numbers import ms
from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated, Level, MarketEvent, Trade
from pmm.core.model import FundingInfo, Side

Channel = tuple[str, ...]
_FIRST_UPDATE_ID = 1000  # Binance ids are large running numbers; any start works for the algorithm


def parse_stream(name: str) -> Channel | None:
    """The channel a stream name asks for; None for a token that names no stream (a listenKey, or
    noise such as ccxt's connection number in `/public/ws/0`).

    "btcusdt@depth@100ms" -> ("depth", "BTCUSDT"); "btcusdt@depth5" -> ("partial", "BTCUSDT", "5");
    "btcusdt@markPrice@1s" -> ("markPrice", "BTCUSDT", "1s"); "btcusdt@kline_1m" -> ("kline",
    "BTCUSDT", "1m"); "!markPrice@arr" -> ("markPriceAll", "3s"); "!ticker@arr" -> ("tickerAll",).
    A name of no stream the venue has -> ("invalid", name): Binance refuses such a subscription.
    (A known stream of an unlisted symbol is accepted and stays silent, as on Binance.)
    """
    if name.startswith("!"):
        if name in (c.STREAM_ALL_MARK_PRICE, c.STREAM_ALL_MARK_PRICE + "@1s"):
            return ("markPriceAll", "1s" if name.endswith("@1s") else "3s")
        return _ALL_MARKET_STREAMS.get(name, ("invalid", name))
    if "@" not in name:
        return None
    symbol, _, rest = name.partition("@")
    symbol = symbol.upper()
    kind, _, speed = rest.partition("@")
    lower = kind.lower()
    if lower == c.STREAM_DEPTH:
        return ("depth", symbol)
    if lower.startswith(c.STREAM_DEPTH) and lower[len(c.STREAM_DEPTH):].isdigit():
        levels = int(lower[len(c.STREAM_DEPTH):])
        if levels in c.STREAM_PARTIAL_DEPTH_LEVELS:
            return ("partial", symbol, str(levels))
    if lower == c.STREAM_MARK_PRICE.lower():
        return ("markPrice", symbol, "1s" if speed == "1s" else "3s")
    if kind.startswith(c.STREAM_KLINE_PREFIX) and kind[len(c.STREAM_KLINE_PREFIX):] in c.STREAM_KLINE_INTERVALS:
        return ("kline", symbol, kind[len(c.STREAM_KLINE_PREFIX):])  # "1m" and "1M" differ
    simple = _SYMBOL_STREAMS.get(lower)
    return (simple, symbol) if simple is not None else ("invalid", name)


# Streams named "<symbol>@<kind>" with one channel per symbol (lower-cased kind -> channel kind).
_SYMBOL_STREAMS: Final = {c.STREAM_AGG_TRADE.lower(): "aggTrade", c.STREAM_TRADE: "trade",
                          c.STREAM_BOOK_TICKER.lower(): "bookTicker", c.STREAM_TICKER.lower(): "ticker",
                          c.STREAM_MINI_TICKER.lower(): "miniTicker"}
_ALL_MARKET_STREAMS: Final[dict[str, Channel]] = {
    c.STREAM_ALL_TICKERS: ("tickerAll",), c.STREAM_ALL_MINI_TICKERS: ("miniTickerAll",),
    c.STREAM_ALL_BOOK_TICKERS: ("bookTickerAll",),
}


class MarketStreams:
    """Public data of every market: the published book, ids, trades, mark price, funding history."""

    def __init__(
        self,
        symbols: SymbolMap,
        publish: Callable[[Channel, Any], None],
        has_subscribers: Callable[[Channel], bool],
        faults: FaultInjector,
    ) -> None:
        self._symbols = symbols
        self._publish = publish
        self._has_subscribers = has_subscribers
        self._faults = faults
        self.books: dict[str, OrderBook] = {s: OrderBook(s) for s in symbols.symbols()}
        self.last_update_id: dict[str, int] = {s: _FIRST_UPDATE_ID for s in symbols.symbols()}
        self.funding: dict[str, FundingInfo] = {}
        self.funding_history: dict[str, list[dict[str, Any]]] = {s: [] for s in symbols.symbols()}
        self.last_trade: dict[str, tuple[Decimal, float]] = {}
        self._trade_ids: dict[str, int] = {s: 0 for s in symbols.symbols()}
        self._top: dict[str, tuple[Level | None, Level | None]] = {}
        self._mark_due: dict[str, float] = {"1s": 0.0, "3s": 0.0}
        # Told of every printed trade with its id (symbol, id, price, qty, buyer is maker, ts): the
        # statistics (stats.py) list the same ids as @aggTrade.
        self.trade_listeners: list[Callable[[str, int, Decimal, Decimal, bool, float], None]] = []

    # --- the simulator's public events ----------------------------------------------------------

    def on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot():
                self._on_book(event.market, event.ts, self._snapshot_diff(event))
            case BookDelta():
                self._on_book(event.market, event.ts, (event.bids, event.asks))
            case Trade():
                self._on_trade(event)
            case FundingInfoUpdated():
                self._on_funding(event.info, event.ts)
            case _:
                pass

    def _snapshot_diff(self, snap: BookSnapshot) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """What changed between the published book and a full snapshot (size 0 = level gone)."""
        book = self.books[self._symbols.symbol(snap.market)]
        sides = []
        for side, levels in ((Side.BUY, snap.bids), (Side.SELL, snap.asks)):
            old = dict(book.iter_levels(side))
            new = {price: size for price, size in levels if size > 0}
            changes = [(p, s) for p, s in new.items() if old.get(p) != s]
            changes += [(p, Decimal(0)) for p in old if p not in new]
            sides.append(tuple(sorted(changes, reverse=side is Side.BUY)))
        return sides[0], sides[1]

    def _on_book(self, market: str, ts: float, diff: tuple[tuple[Level, ...], tuple[Level, ...]]) -> None:
        symbol = self._symbols.symbol(market)
        bids, asks = diff
        count = len(bids) + len(asks)
        if count == 0:
            return
        book = self.books[symbol]
        previous = self.last_update_id[symbol]
        pu = previous + self._faults.take_depth_skip()
        first, last = pu + 1, pu + count
        book.apply_delta(BookDelta(market, bids, asks, last, ts, ts))
        self.last_update_id[symbol] = last
        grid = self._symbols.grid(symbol)
        when = ms(ts)
        if self._has_subscribers(("depth", symbol)):
            self._publish(("depth", symbol), {
                "e": c.EVENT_DEPTH_UPDATE, "E": when, "T": when, "s": symbol, "U": first, "u": last, "pu": pu,
                "b": grid.levels(bids), "a": grid.levels(asks),
            })
        for levels in c.STREAM_PARTIAL_DEPTH_LEVELS:
            channel = ("partial", symbol, str(levels))
            if self._has_subscribers(channel):
                self._publish(channel, {
                    "e": c.EVENT_DEPTH_UPDATE, "E": when, "T": when, "s": symbol, "U": first, "u": last, "pu": pu,
                    "b": grid.levels(book.iter_levels(Side.BUY, levels)),
                    "a": grid.levels(book.iter_levels(Side.SELL, levels)),
                })
        self._book_ticker(symbol, when)

    def _book_ticker(self, symbol: str, when: int) -> None:
        book = self.books[symbol]
        top = (next(book.iter_levels(Side.BUY, 1), None), next(book.iter_levels(Side.SELL, 1), None))
        if top == self._top.get(symbol):
            return
        self._top[symbol] = top
        channels = [ch for ch in (("bookTicker", symbol), ("bookTickerAll",)) if self._has_subscribers(ch)]
        if not channels:
            return
        grid = self._symbols.grid(symbol)
        (bid, bid_qty), (ask, ask_qty) = (top[0] or (Decimal(0), Decimal(0))), (top[1] or (Decimal(0), Decimal(0)))
        event = {
            "e": c.EVENT_BOOK_TICKER, "u": self.last_update_id[symbol], "E": when, "T": when, "s": symbol,
            "b": grid.price(bid), "B": grid.qty(bid_qty), "a": grid.price(ask), "A": grid.qty(ask_qty),
        }
        for channel in channels:
            self._publish(channel, event)

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        self._trade_ids[symbol] += 1
        trade_id = self._trade_ids[symbol]
        self.last_trade[symbol] = (trade.price, trade.ts)
        grid = self._symbols.grid(symbol)
        when = ms(trade.ts)
        buyer_is_maker = trade.aggressor is Side.SELL
        price, qty = grid.price(trade.price), grid.qty(trade.amount)
        self._publish(("aggTrade", symbol), {
            "e": c.EVENT_AGG_TRADE, "E": when, "s": symbol, "a": trade_id, "p": price, "q": qty, "nq": qty,
            "f": trade_id, "l": trade_id, "T": when, "m": buyer_is_maker,
        })
        self._publish(("trade", symbol), {
            "e": c.EVENT_TRADE, "E": when, "T": when, "s": symbol, "t": trade_id, "p": price, "q": qty,
            "X": "MARKET", "m": buyer_is_maker,
        })
        for listener in self.trade_listeners:
            listener(symbol, trade_id, trade.price, trade.amount, buyer_is_maker, trade.ts)

    def _on_funding(self, info: FundingInfo, ts: float) -> None:
        symbol = self._symbols.symbol(info.market)
        previous = self.funding.get(symbol)
        if previous is not None and info.next_funding_ts > previous.next_funding_ts:
            self.funding_history[symbol].append({
                "symbol": symbol,
                "fundingRate": money(previous.rate),
                "fundingTime": ms(previous.next_funding_ts),
                "markPrice": money(info.mark_price),
            })
        self.funding[symbol] = info

    # --- timers and reads -----------------------------------------------------------------------

    def on_tick(self, now: float) -> None:
        """Push @markPrice (3 s) and @markPrice@1s on their clock boundaries."""
        for speed, interval in (("1s", c.MARK_PRICE_FAST_INTERVAL_S), ("3s", c.MARK_PRICE_INTERVAL_S)):
            if now < self._mark_due[speed]:
                continue
            self._mark_due[speed] = (math.floor(now / interval) + 1) * interval
            updates = []
            for symbol, info in self.funding.items():
                payload = self.mark_price_event(symbol, info, now)
                updates.append(payload)
                self._publish(("markPrice", symbol, speed), payload)
            if updates:
                self._publish(("markPriceAll", speed), updates)

    @staticmethod
    def mark_price_event(symbol: str, info: FundingInfo, now: float) -> dict[str, Any]:
        return {
            "e": c.EVENT_MARK_PRICE, "E": ms(now), "s": symbol, "p": money(info.mark_price),
            "ap": money(info.mark_price), "i": money(info.index_price), "P": money(info.index_price),
            "r": money(info.rate), "T": ms(info.next_funding_ts),
        }

    def depth_snapshot(self, symbol: str, limit: int, now: float) -> dict[str, Any]:
        book = self.books[symbol]
        grid = self._symbols.grid(symbol)
        return {
            "lastUpdateId": self.last_update_id[symbol],
            "E": ms(now),
            "T": ms(book.ts) if book.ts else ms(now),
            "bids": grid.levels(book.iter_levels(Side.BUY, limit)),
            "asks": grid.levels(book.iter_levels(Side.SELL, limit)),
        }
