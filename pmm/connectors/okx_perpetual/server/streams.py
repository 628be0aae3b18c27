"""Public channels of the OKX server, built from the simulator's public events (docs-v5 "Market
data" and "Public data" WebSocket channels, exchange_apis_more.md §G8):

- `books`: a 400-level snapshot on subscribe (`prevSeqId` -1), then an `update` per book change
  carrying the changed levels; each message's `prevSeqId` is the previous `seqId`. An injected
  skip (`faults.skip_depth_update_ids(n)`) loses n messages: the next update's `prevSeqId` is n
  past the last `seqId` sent, the chain breaks and clients must resubscribe. `checksum` is 0
  (OKX retired it). After 60 s without change an empty update with `seqId == prevSeqId` is the
  book's heartbeat. Levels are `[px, sz, "0", orders]`.
- `books5` and `bbo-tbt`: the top 5 / 1 levels as a whole on every change (with `seqId`).
- `trades`, `tickers`, `mark-price`, `index-tickers` (instId "BTC-USDT"), `funding-rate`.

The account's own taker fills are trades on the tape too. Every mark and last price also goes to
the conditional orders (`TriggerDesk.on_price`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.market_tape import SequencedBook, Tape
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.wire import OkxSymbols, id_maker, ms_text, side_wire
from pmm.core.book import OrderBook
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    BookDelta,
    BookSnapshot,
    FundingInfoUpdated,
    MarketEvent,
    OrderFilled,
    Trade,
)
from pmm.core.model import Liquidity, Side

BOOK_DEPTHS: dict[str, int] = {spec.CHANNEL_BOOKS: 400, "books5": 5, "bbo-tbt": 1}
PUBLIC_CHANNELS = (*BOOK_DEPTHS, spec.CHANNEL_TRADES, spec.CHANNEL_TICKERS, spec.CHANNEL_MARK_PRICE,
                   spec.CHANNEL_INDEX_TICKERS, spec.CHANNEL_FUNDING_RATE)
VIP_BOOK_CHANNELS = ("books50-l2-tbt", "books-l2-tbt")  # 64003 for a simulated account
BOOK_HEARTBEAT_S = 60.0
FUNDING_CAP = "0.00375"
_FIRST_SEQ = 3_235_851_000


def index_id(symbol: str) -> str:
    """The index of a swap: "BTC-USDT-SWAP" -> "BTC-USDT"."""
    return spec.from_venue_symbol(symbol)


class PublicStreams:
    """Every market's public state and channels (see module docstring)."""

    def __init__(self, symbols: OkxSymbols, book_of: Any, hub: StreamHub, faults: FaultInjector,
                 triggers: TriggerDesk, clock: Clock) -> None:
        self._symbols = symbols
        self._book_of = book_of
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        new_trade_id = id_maker(742_000_000)
        self.tapes = {s: Tape(symbols.market(s) or s, tuple(BOOK_DEPTHS.values()), _FIRST_SEQ, new_trade_id)
                      for s in symbols.symbols()}

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

    def _on_book(self, market: str, ts: float) -> None:
        symbol = self._symbols.symbol(market)
        tape = self.tapes[symbol]
        book: OrderBook = self._book_of(market)
        skip = self._faults.take_depth_skip()
        changed = False
        for channel, depth in BOOK_DEPTHS.items():
            stream = tape.books[depth]
            result = stream.update(book, ts, skip)
            if result is None:
                continue
            changed = True
            prev, seq, (bids, asks) = result
            key = (channel, symbol)
            if not self._hub.has_subscribers(key):
                continue
            if channel == spec.CHANNEL_BOOKS:
                self._publish_book_update(symbol, stream, prev, seq, bids, asks)
            else:
                self._hub.publish(key, {"arg": {"channel": channel, "instId": symbol},
                                        "data": [self.book_data(symbol, stream, depth, with_inst=True)]})
        if skip and not changed:
            self._faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next change
        self._publish(spec.CHANNEL_TICKERS, symbol, self.ticker)

    def _publish_book_update(self, symbol: str, stream: SequencedBook, prev: int, seq: int, bids: Any,
                             asks: Any) -> None:
        data = {"asks": self.levels(symbol, asks), "bids": self.levels(symbol, bids), "ts": ms_text(stream.ts),
                "checksum": 0, "prevSeqId": prev, "seqId": seq}
        self._hub.publish((spec.CHANNEL_BOOKS, symbol), {"arg": {"channel": spec.CHANNEL_BOOKS, "instId": symbol},
                                                          "action": "update", "data": [data]}, shape="depth")

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        tape = self.tapes[symbol]
        done = tape.on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        grid = self._symbols.grid(symbol)
        self._publish(spec.CHANNEL_TRADES, symbol, lambda _: {
            "instId": symbol, "tradeId": done.trade_id, "px": grid.price(done.price),
            "sz": self._symbols.contracts(symbol, done.qty), "side": side_wire(done.taker_side),
            "ts": ms_text(done.ts), "count": "1", "source": "0"})
        self._publish(spec.CHANNEL_TICKERS, symbol, self.ticker)
        self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        self.tapes[symbol].on_funding(info)
        self._publish(spec.CHANNEL_MARK_PRICE, symbol, self.mark_price)
        self._publish(spec.CHANNEL_FUNDING_RATE, symbol, self.funding_rate)
        if self._hub.has_subscribers((spec.CHANNEL_INDEX_TICKERS, index_id(symbol))):
            self._hub.publish((spec.CHANNEL_INDEX_TICKERS, index_id(symbol)), {
                "arg": {"channel": spec.CHANNEL_INDEX_TICKERS, "instId": index_id(symbol)},
                "data": [self.index_ticker(symbol)]})
        self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    def _publish(self, channel: str, symbol: str, make: Callable[[str], dict[str, Any] | None]) -> None:
        """`make(symbol)`'s row on the channel, built only when somebody listens."""
        key: Hashable = (channel, symbol)
        if self._hub.has_subscribers(key) and (row := make(symbol)) is not None:
            self._hub.publish(key, {"arg": {"channel": channel, "instId": symbol}, "data": [row]})

    def on_tick(self, now: float) -> None:
        """The `books` heartbeat: an empty update with seqId == prevSeqId after 60 s unchanged."""
        for symbol, tape in self.tapes.items():
            stream = tape.books[BOOK_DEPTHS[spec.CHANNEL_BOOKS]]
            if stream.ts and now - stream.ts >= BOOK_HEARTBEAT_S:
                stream.ts = now
                if self._hub.has_subscribers((spec.CHANNEL_BOOKS, symbol)):
                    self._publish_book_update(symbol, stream, stream.seq, stream.seq, (), ())

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- payloads (REST and WebSocket) --------------------------------------------------------------

    def levels(self, symbol: str, levels: Any) -> list[list[str]]:
        grid = self._symbols.grid(symbol)
        return [[grid.price(p), self._symbols.contracts(symbol, s), "0", "1" if s else "0"] for p, s in levels]

    def book_data(self, symbol: str, stream: SequencedBook, depth: int, *, with_inst: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"asks": self.levels(symbol, stream.levels(Side.SELL, depth)),
                                "bids": self.levels(symbol, stream.levels(Side.BUY, depth)),
                                "ts": ms_text(stream.ts or self._clock.now())}
        if with_inst:
            data["instId"] = symbol
        data["seqId"] = stream.seq
        return data

    def book_snapshot(self, symbol: str) -> dict[str, Any]:
        """The `books` channel's first message to a new subscriber."""
        stream = self.tapes[symbol].books[BOOK_DEPTHS[spec.CHANNEL_BOOKS]]
        data = self.book_data(symbol, stream, BOOK_DEPTHS[spec.CHANNEL_BOOKS])
        data.update({"checksum": 0, "prevSeqId": -1})
        return {"arg": {"channel": spec.CHANNEL_BOOKS, "instId": symbol}, "action": "snapshot", "data": [data]}

    def ticker(self, symbol: str) -> dict[str, Any] | None:
        tape = self.tapes[symbol]
        grid = self._symbols.grid(symbol)
        book: OrderBook = self._book_of(tape.market)
        last = tape.last
        if last is None and book.mid is None:
            return None
        last_px = last.price if last else book.mid
        assert last_px is not None
        bid, ask = book.levels(Side.BUY, 1), book.levels(Side.SELL, 1)
        day = tape.day
        return {
            "instType": spec.INST_TYPE, "instId": symbol, "last": grid.price(last_px),
            "lastSz": self._symbols.contracts(symbol, last.qty) if last else "0",
            "askPx": grid.price(ask[0][0]) if ask else "",
            "askSz": self._symbols.contracts(symbol, ask[0][1]) if ask else "",
            "bidPx": grid.price(bid[0][0]) if bid else "",
            "bidSz": self._symbols.contracts(symbol, bid[0][1]) if bid else "",
            "open24h": grid.price(day.open(last_px)), "high24h": grid.price(day.high(last_px)),
            "low24h": grid.price(day.low(last_px)), "volCcy24h": grid.qty(day.volume),
            "vol24h": self._symbols.contracts(symbol, day.volume), "sodUtc0": grid.price(day.open(last_px)),
            "sodUtc8": grid.price(day.open(last_px)), "ts": ms_text(self._clock.now()),
        }

    def mark_price(self, symbol: str) -> dict[str, Any] | None:
        info = self.tapes[symbol].funding
        if info is None:
            return None
        return {"instType": spec.INST_TYPE, "instId": symbol,
                "markPx": self._symbols.grid(symbol).price(info.mark_price), "ts": ms_text(self._clock.now())}

    def index_ticker(self, symbol: str) -> dict[str, Any] | None:
        info = self.tapes[symbol].funding
        if info is None:
            return None
        px = self._symbols.grid(symbol).price(info.index_price)
        return {"instId": index_id(symbol), "idxPx": px, "high24h": px, "low24h": px, "open24h": px,
                "sodUtc0": px, "sodUtc8": px, "ts": ms_text(self._clock.now())}

    def funding_rate(self, symbol: str) -> dict[str, Any] | None:
        tape = self.tapes[symbol]
        info = tape.funding
        if info is None:
            return None
        settled = tape.settled[-1][1] if tape.settled else info.rate
        rate = format(info.rate, "f")
        return {
            "formulaType": "noRate", "fundingRate": rate, "fundingTime": ms_text(info.next_funding_ts),
            "impactValue": "", "instId": symbol, "instType": spec.INST_TYPE, "interestRate": "0",
            "maxFundingRate": FUNDING_CAP, "method": "current_period", "minFundingRate": f"-{FUNDING_CAP}",
            "nextFundingRate": "", "nextFundingTime": ms_text(info.next_funding_ts + info.interval_s),
            "premium": format((info.mark_price - info.index_price) / info.index_price if info.index_price
                              else Decimal(0), "f"),
            "settFundingRate": format(settled, "f"), "settState": "settled", "ts": ms_text(self._clock.now()),
        }
