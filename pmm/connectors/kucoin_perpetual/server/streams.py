"""Public topics of the KuCoin server, built from the simulator's public events (§I6):

- `/contractMarket/level2:{symbol}`: one message per changed level, `change` "price,side,size"
  (absolute size in lots, 0 removes), each message's `sequence` one more than the last. The REST
  snapshot (`/api/v1/level2/snapshot`) carries the sequence of the last change it includes. An
  injected skip (`faults.skip_depth_update_ids(n)`) loses n messages: the next one's sequence is n
  past the last one sent, and clients must read a new snapshot.
- `/contractMarket/level2Depth5:` / `level2Depth50:`: the top 5 / 50 levels whole on every change.
- `/contractMarket/execution:` (subject `match`), `/contractMarket/ticker:` and `tickerV2:`.
- `/contract/instrument:` (`mark.index.price`, `funding.rate`) on every funding-info update, and
  `/contract/announcement:` `funding.end` when a settlement passes.

The account's own taker fills are trades on the tape too. Every mark and last price also goes to
the stop orders (`TriggerDesk.on_price`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.common.book_diff import PublishedBook
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.market_tape import Tape
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.wire import KucoinSymbols, id_maker, ms, ns, num, side_wire
from pmm.core.book import OrderBook
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BookDelta, BookSnapshot, FundingInfoUpdated, MarketEvent, OrderFilled, Trade
from pmm.core.model import Liquidity, Side

DEPTH_TOPICS = {"/contractMarket/level2Depth5": 5, "/contractMarket/level2Depth50": 50}
PUBLIC_TOPICS = (spec.TOPIC_LEVEL2, *DEPTH_TOPICS, spec.TOPIC_EXECUTION, spec.TOPIC_TICKER, spec.TOPIC_TICKER_V2,
                 spec.TOPIC_INSTRUMENT, spec.TOPIC_ANNOUNCEMENT)
_FIRST_SEQ = 1_709_400_450_000


class PublicStreams:
    """Every market's public state and topics (see module docstring)."""

    def __init__(self, symbols: KucoinSymbols, book_of: Any, hub: StreamHub, faults: FaultInjector,
                 triggers: TriggerDesk, clock: Clock) -> None:
        self._symbols = symbols
        self._book_of = book_of
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        new_trade_id = id_maker(1_794_200_000_000)
        self.tapes = {s: Tape(symbols.market(s) or s, (), _FIRST_SEQ, new_trade_id) for s in symbols.symbols()}
        self.published = {s: PublishedBook(None) for s in symbols.symbols()}
        self.sequence = dict.fromkeys(symbols.symbols(), _FIRST_SEQ)
        self.book_ts = dict.fromkeys(symbols.symbols(), 0.0)

    def book(self, symbol: str) -> OrderBook:
        book: OrderBook = self._book_of(self._symbols.market(symbol))
        return book

    # --- the simulator's public events --------------------------------------------------------------

    def on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                self._on_book(event.market, event.ts)
            case Trade():
                self._on_trade(event)
            case FundingInfoUpdated():
                self._on_funding(event)
            case _:
                pass

    def _message(self, topic: str, subject: str, data: dict[str, Any], sn: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"topic": topic, "type": "message", "subject": subject}
        if sn is not None:
            message["sn"] = sn
        message["data"] = data
        return message

    def _on_book(self, market: str, ts: float) -> None:
        symbol = self._symbols.symbol(market)
        book = self.book(symbol)
        bids, asks = self.published[symbol].update(book)
        if not bids and not asks:
            return
        self.sequence[symbol] += self._faults.take_depth_skip()
        self.book_ts[symbol] = ts
        key = (spec.TOPIC_LEVEL2, symbol)
        grid = self._symbols.grid(symbol)
        for side, levels in (("buy", bids), ("sell", asks)):
            for price, size in levels:
                self.sequence[symbol] += 1
                if self._hub.has_subscribers(key):
                    seq = self.sequence[symbol]
                    change = f"{grid.price(price)},{side},{self._symbols.lots(symbol, size)}"
                    self._hub.publish(key, self._message(f"{spec.TOPIC_LEVEL2}:{symbol}", "level2", {
                        "sequence": seq, "change": change, "timestamp": ms(ts)}, seq), shape="depth")
        for topic, depth in DEPTH_TOPICS.items():
            if self._hub.has_subscribers((topic, symbol)):
                self._hub.publish((topic, symbol), self._message(f"{topic}:{symbol}", "level2",
                                                                 self.depth(symbol, depth), ms(ts)))
        self._publish_tickers(symbol)

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        key = (spec.TOPIC_EXECUTION, symbol)
        if self._hub.has_subscribers(key):
            self._hub.publish(key, self._message(f"{spec.TOPIC_EXECUTION}:{symbol}", "match",
                                                 self.trade_row(symbol, done), int(done.trade_id)))
        self._publish_tickers(symbol)
        self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        tape = self.tapes[symbol]
        previous = tape.funding
        settled = tape.on_funding(info)
        grid = self._symbols.grid(symbol)
        topic = f"{spec.TOPIC_INSTRUMENT}:{symbol}"
        now = ms(self._clock.now())
        if self._hub.has_subscribers((spec.TOPIC_INSTRUMENT, symbol)):
            self._hub.publish((spec.TOPIC_INSTRUMENT, symbol), self._message(topic, "mark.index.price", {
                "markPrice": num(grid.rules.floor_price(info.mark_price)),
                "indexPrice": num(grid.rules.floor_price(info.index_price)), "granularity": 1000, "timestamp": now}))
            self._hub.publish((spec.TOPIC_INSTRUMENT, symbol), self._message(topic, "funding.rate", {
                "granularity": int(info.interval_s * 1000), "fundingRate": num(info.rate), "timestamp": now}))
        if settled and previous is not None and self._hub.has_subscribers((spec.TOPIC_ANNOUNCEMENT, symbol)):
            self._hub.publish((spec.TOPIC_ANNOUNCEMENT, symbol), self._message(
                f"{spec.TOPIC_ANNOUNCEMENT}:{symbol}", "funding.end", {
                    "symbol": symbol, "fundingTime": ms(previous.next_funding_ts), "fundingRate": num(previous.rate),
                    "timestamp": ms(previous.next_funding_ts)}))
        self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    def _publish_tickers(self, symbol: str) -> None:
        for topic, subject in ((spec.TOPIC_TICKER, "ticker"), (spec.TOPIC_TICKER_V2, "tickerV2")):
            if self._hub.has_subscribers((topic, symbol)):
                row = self.ticker(symbol)
                if row is not None:
                    if topic == spec.TOPIC_TICKER_V2:
                        row = {k: v for k, v in row.items() if k not in ("side", "size", "price", "tradeId")}
                    self._hub.publish((topic, symbol), self._message(f"{topic}:{symbol}", subject, row,
                                                                     row["sequence"]))

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- payloads (REST and WebSocket) --------------------------------------------------------------

    def levels(self, symbol: str, side: Side, depth: int | None = None) -> list[list[int | float]]:
        levels = self.published[symbol].levels(side)
        if depth is not None:
            levels = levels[:depth]
        return [[num(price), self._symbols.lots(symbol, size)] for price, size in levels]

    def depth(self, symbol: str, depth: int) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        ts = ms(self.book_ts[symbol] or self._clock.now())
        published = self.published[symbol]
        bids, asks = published.levels(Side.BUY)[:depth], published.levels(Side.SELL)[:depth]
        return {"bids": [[grid.price(p), self._symbols.lots(symbol, s)] for p, s in bids],
                "sequence": self.sequence[symbol], "timestamp": ts, "ts": ts,
                "asks": [[grid.price(p), self._symbols.lots(symbol, s)] for p, s in asks]}

    def snapshot(self, symbol: str, depth: int | None = None) -> dict[str, Any]:
        """`GET /api/v1/level2/snapshot` (or depth20 / depth100): the book as the stream last left it."""
        return {"sequence": self.sequence[symbol], "symbol": symbol, "bids": self.levels(symbol, Side.BUY, depth),
                "asks": self.levels(symbol, Side.SELL, depth), "ts": ns(self.book_ts[symbol] or self._clock.now())}

    def trade_row(self, symbol: str, trade: Any) -> dict[str, Any]:
        return {"symbol": symbol, "sequence": int(trade.trade_id), "side": side_wire(trade.taker_side),
                "size": self._symbols.lots(symbol, trade.qty), "price": self._symbols.grid(symbol).price(trade.price),
                "takerOrderId": str(int(trade.trade_id) * 2), "makerOrderId": str(int(trade.trade_id) * 2 + 1),
                "tradeId": trade.trade_id, "ts": ns(trade.ts)}

    def ticker(self, symbol: str) -> dict[str, Any] | None:
        tape = self.tapes[symbol]
        grid = self._symbols.grid(symbol)
        book = self.book(symbol)
        last = tape.last
        bid, ask = book.levels(Side.BUY, 1), book.levels(Side.SELL, 1)
        if last is None and not (bid and ask):
            return None
        last_px = last.price if last is not None else book.mid
        assert last_px is not None
        return {"sequence": self.sequence[symbol], "symbol": symbol,
                "side": side_wire(last.taker_side) if last else "buy",
                "size": self._symbols.lots(symbol, last.qty) if last else 0, "price": grid.price(last_px),
                "tradeId": last.trade_id if last else "0",
                "bestBidSize": self._symbols.lots(symbol, bid[0][1]) if bid else 0,
                "bestBidPrice": grid.price(bid[0][0]) if bid else "",
                "bestAskPrice": grid.price(ask[0][0]) if ask else "",
                "bestAskSize": self._symbols.lots(symbol, ask[0][1]) if ask else 0, "ts": ns(self._clock.now())}
