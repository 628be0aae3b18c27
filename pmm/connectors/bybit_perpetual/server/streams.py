"""Public data of the Bybit server, built from the simulator's public events: orderbook topics with
Bybit's `u` / `seq` numbering, tickers (snapshot then deltas of what changed), publicTrade, and the
REST views of the same state (orderbook, tickers, recent trades, funding history).

Orderbook (exchange_apis.md §B5): every depth stream (1, 50, 200, 500, 1000) is the kit's
`SequencedBook` (the levels it last published, and its `u`) and, whenever the simulator's book
changes, publishes the changes of its top N levels as a `delta` whose `u` is the stream's previous
`u` + 1; `seq` is the cross sequence, one number per book change of the market, the same in every
depth and in the REST snapshot. A subscriber first gets a `snapshot` of what the stream last
published. Level 1 sends snapshots only, and re-sends one with an unchanged `u` after 3 s without a
change. The REST orderbook is the 1000-level stream's published book with its `u`. A simulated
service restart (`restart()`) starts every stream again at u=1 with a snapshot.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.bybit_perpetual.server.wire import ZERO, SymbolMap, ms_text
from pmm.connectors.common.numbers import fixed, ms, plain
from pmm.connectors.common.server.market_tape import SequencedBook
from pmm.connectors.common.trade_stats import TradeWindow
from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated, MarketEvent, Trade
from pmm.core.model import FundingInfo, Side

_FIRST_UPDATE_ID = 1000  # Bybit's ids are large running numbers; anything but 1 (a restart) works
_FIRST_SEQ = 7_000_000_000
_DAY_S, _HOUR_S = 86_400.0, 3_600.0
_FUNDING_CAP = "0.005"


class _SymbolState:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.books = {depth: SequencedBook(depth, _FIRST_UPDATE_ID) for depth in c.SERVER_ORDERBOOK_DEPTHS}
        self.pushed_at = {depth: 0.0 for depth in c.SERVER_ORDERBOOK_DEPTHS}
        self.seq = _FIRST_SEQ
        self.book_ts = 0.0
        self.ticker: dict[str, str] = {}
        self.funding: FundingInfo | None = None
        self.funding_history: list[dict[str, str]] = []
        self.last_price: Decimal | None = None
        self.tick_direction = c.TICK_ZERO_PLUS
        self.day = TradeWindow(_DAY_S)
        self.hour = TradeWindow(_HOUR_S)
        self.recent: deque[dict[str, Any]] = deque(maxlen=c.RECENT_TRADE_MAX_LIMIT)


def orderbook_topic(depth: int, symbol: str) -> str:
    return c.TOPIC_ORDERBOOK.format(depth=depth, symbol=symbol)


class MarketStreams:
    """Every market's public state and topics (see module docstring)."""

    def __init__(self, symbols: SymbolMap, book_of: Callable[[str], OrderBook],
                 publish: Callable[[str, dict[str, Any]], None], has_subscribers: Callable[[str], bool],
                 faults: FaultInjector, options: ServerOptions) -> None:
        self._symbols = symbols
        self._book_of = book_of
        self._publish = publish
        self._has_subscribers = has_subscribers
        self._faults = faults
        self._options = options
        self.state = {symbol: _SymbolState(symbol) for symbol in symbols.symbols()}

    # --- the simulator's public events ----------------------------------------------------------

    def on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                self._on_book(event.market, event.ts)
            case Trade():
                self._on_trade(event)
            case FundingInfoUpdated():
                self._on_funding(event.info, event.ts)
            case _:
                pass

    def _on_book(self, market: str, ts: float) -> None:
        symbol = self._symbols.symbol(market)
        st = self.state[symbol]
        book = self._book_of(market)
        st.seq += 1
        st.book_ts = ts
        skip = self._faults.take_depth_skip()
        grid = self._symbols.grid(symbol)
        published = False
        for depth, stream in st.books.items():
            changed = stream.update(book, ts, skip)
            if changed is None:
                continue
            published = True
            _, update_id, (bids, asks) = changed
            st.pushed_at[depth] = ts
            topic = orderbook_topic(depth, symbol)
            if not self._has_subscribers(topic):
                continue
            if depth == 1:  # level 1 sends snapshots only
                self._publish(topic, self.orderbook_message(symbol, depth, ts))
                continue
            self._publish(topic, {
                "topic": topic, "type": c.TYPE_DELTA, "ts": ms(ts),
                "data": {"s": symbol, "b": grid.levels(bids), "a": grid.levels(asks),
                         "u": update_id, "seq": st.seq},
                "cts": ms(ts),
            })
        if skip and not published:
            self._faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next one
        self._update_ticker(symbol, ts)

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        st = self.state[symbol]
        grid = self._symbols.grid(symbol)
        if st.last_price is not None:
            if trade.price > st.last_price:
                st.tick_direction = c.TICK_PLUS
            elif trade.price < st.last_price:
                st.tick_direction = c.TICK_MINUS
            elif st.tick_direction in (c.TICK_PLUS, c.TICK_ZERO_PLUS):
                st.tick_direction = c.TICK_ZERO_PLUS
            else:
                st.tick_direction = c.TICK_ZERO_MINUS
        st.last_price = trade.price
        st.day.add(trade.ts, trade.price, trade.amount)
        st.hour.add(trade.ts, trade.price, trade.amount)
        st.seq += 1
        trade_id = str(uuid.uuid4())
        side = c.SIDE_BUY if trade.aggressor is Side.BUY else c.SIDE_SELL
        price, qty, when = grid.price(trade.price), grid.qty(trade.amount), ms(trade.ts)
        st.recent.appendleft({
            "execId": trade_id, "symbol": symbol, "price": price, "size": qty, "side": side,
            "time": str(when), "isBlockTrade": False, "isRPITrade": False, "seq": str(st.seq),
        })
        topic = c.TOPIC_PUBLIC_TRADE.format(symbol=symbol)
        if self._has_subscribers(topic):
            self._publish(topic, {
                "topic": topic, "type": c.TYPE_SNAPSHOT, "ts": when,
                "data": [{"T": when, "s": symbol, "S": side, "v": qty, "p": price, "L": st.tick_direction,
                          "i": trade_id, "BT": False, "RPI": False, "seq": st.seq}],
            })
        self._update_ticker(symbol, trade.ts)

    def _on_funding(self, info: FundingInfo, ts: float) -> None:
        symbol = self._symbols.symbol(info.market)
        st = self.state[symbol]
        previous = st.funding
        if previous is not None and info.next_funding_ts > previous.next_funding_ts:
            st.funding_history.append({
                "symbol": symbol, "fundingRate": plain(previous.rate),
                "fundingRateTimestamp": ms_text(previous.next_funding_ts),
            })
        st.funding = info
        self._update_ticker(symbol, ts)

    # --- tickers ----------------------------------------------------------------------------------

    def ticker(self, symbol: str, now: float) -> dict[str, str]:
        """The linear ticker of `symbol` as REST and the tickers topic show it."""
        st = self.state[symbol]
        grid = self._symbols.grid(symbol)
        book = st.books[1]
        bid = next(iter(book.levels(Side.BUY)), None)
        ask = next(iter(book.levels(Side.SELL)), None)
        info = st.funding
        mid = (bid[0] + ask[0]) / 2 if bid is not None and ask is not None else None
        last = st.last_price if st.last_price is not None else (mid if mid is not None else ZERO)
        st.day.prune(now)
        st.hour.prune(now)
        prev24 = st.day.first_price(last)
        pcnt = (last - prev24) / prev24 if prev24 else ZERO
        interval_h = plain((Decimal(str(info.interval_s)) / 3600).quantize(Decimal("0.01")).normalize()) \
            if info is not None else "8"
        return {
            "symbol": symbol,
            "tickDirection": st.tick_direction,
            "price24hPcnt": plain(pcnt.quantize(Decimal("0.000001"))),
            "lastPrice": grid.price(last),
            "prevPrice24h": grid.price(prev24),
            "highPrice24h": grid.price(st.day.high(last)),
            "lowPrice24h": grid.price(st.day.low(last)),
            "prevPrice1h": grid.price(st.hour.first_price(last)),
            "markPrice": fixed(info.mark_price if info is not None else last, grid.price_places),
            "indexPrice": fixed(info.index_price if info is not None else last, grid.price_places),
            "openInterest": "0",
            "openInterestValue": "0",
            "turnover24h": plain(st.day.turnover),
            "volume24h": grid.qty(st.day.volume),
            "nextFundingTime": ms_text(info.next_funding_ts) if info is not None else "0",
            "fundingRate": plain(info.rate) if info is not None else "0",
            "bid1Price": grid.price(bid[0]) if bid else "",
            "bid1Size": grid.qty(bid[1]) if bid else "",
            "ask1Price": grid.price(ask[0]) if ask else "",
            "ask1Size": grid.qty(ask[1]) if ask else "",
            "fundingIntervalHour": interval_h,
            "fundingCap": _FUNDING_CAP,
            "predictedDeliveryPrice": "",
            "basisRate": "",
            "deliveryFeeRate": "",
            "deliveryTime": "0",
            "basis": "",
        }

    def _update_ticker(self, symbol: str, ts: float) -> None:
        st = self.state[symbol]
        current = self.ticker(symbol, ts)
        changed = {k: v for k, v in current.items() if st.ticker.get(k) != v}
        st.ticker = current
        topic = c.TOPIC_TICKERS.format(symbol=symbol)
        if not changed or not self._has_subscribers(topic):
            return
        changed["symbol"] = symbol
        self._publish(topic, {"topic": topic, "type": c.TYPE_DELTA, "data": changed, "cs": st.seq, "ts": ms(ts)})

    # --- snapshots for new subscribers, timers, faults --------------------------------------------

    def orderbook_message(self, symbol: str, depth: int, now: float) -> dict[str, Any]:
        st = self.state[symbol]
        mirror = st.books[depth]
        grid = self._symbols.grid(symbol)
        topic = orderbook_topic(depth, symbol)
        return {
            "topic": topic, "type": c.TYPE_SNAPSHOT, "ts": ms(now),
            "data": {"s": symbol, "b": grid.levels(mirror.levels(Side.BUY)), "a": grid.levels(mirror.levels(Side.SELL)),
                     "u": mirror.seq, "seq": st.seq},
            "cts": ms(st.book_ts or now),
        }

    def ticker_message(self, symbol: str, now: float) -> dict[str, Any]:
        st = self.state[symbol]
        st.ticker = self.ticker(symbol, now)
        topic = c.TOPIC_TICKERS.format(symbol=symbol)
        return {"topic": topic, "type": c.TYPE_SNAPSHOT, "data": dict(st.ticker), "cs": st.seq, "ts": ms(now)}

    def initial_message(self, kind: str, symbol: str, depth: int | None, now: float) -> dict[str, Any] | None:
        """What a new subscriber of a topic gets first (None: nothing until the next event)."""
        if kind == "orderbook" and depth is not None:
            return self.orderbook_message(symbol, depth, now)
        if kind == "tickers":
            return self.ticker_message(symbol, now)
        return None

    def on_tick(self, now: float) -> None:
        """Level-1 books re-send their snapshot (same `u`) after a quiet spell."""
        for symbol, st in self.state.items():
            if now - st.pushed_at[1] < self._options.level1_resnapshot_s:
                continue
            st.pushed_at[1] = now
            topic = orderbook_topic(1, symbol)
            if self._has_subscribers(topic):
                self._publish(topic, self.orderbook_message(symbol, 1, now))

    def restart(self, now: float) -> int:
        """A restart of the orderbook service: every stream at u=1, a snapshot to its subscribers."""
        pushed = 0
        for symbol, st in self.state.items():
            for depth in st.books:
                st.books[depth].seq = c.ORDERBOOK_RESTART_UPDATE_ID
                topic = orderbook_topic(depth, symbol)
                if self._has_subscribers(topic):
                    self._publish(topic, self.orderbook_message(symbol, depth, now))
                    pushed += 1
        return pushed

    # --- REST reads -------------------------------------------------------------------------------

    def orderbook_result(self, symbol: str, limit: int, now: float) -> dict[str, Any]:
        st = self.state[symbol]
        mirror = st.books[c.REST_ORDERBOOK_STREAM_DEPTH]
        grid = self._symbols.grid(symbol)
        return {
            "s": symbol,
            "b": grid.levels(mirror.levels(Side.BUY)[:limit]),
            "a": grid.levels(mirror.levels(Side.SELL)[:limit]),
            "ts": ms(now),
            "u": mirror.seq,
            "seq": st.seq,
            "cts": ms(st.book_ts or now),
        }
