"""Public channels of the Bitget server, built from the simulator's public events (Bitget "Order
Book Channel", "Tickers Channel", "New Trades Channel"; exchange_apis_more.md §J6):

- `books`: the whole book as a `snapshot` on subscribe, then an `update` per book change carrying
  the changed levels (size "0" removes one). Every message carries `seq` (one more per message)
  and `checksum`, the signed CRC32 of the top 25 levels as the texts sent (`checksum.py`), which
  ccxt checks on every update. An injected skip (`faults.skip_depth_update_ids(n)`) loses n
  messages: `seq` jumps by n more and their changes never arrive (the next update goes out with no
  levels), so the client's book no longer matches the checksum and it resubscribes, as after
  messages lost on the way.
- `books1`, `books5`, `books15`: the top 1 / 5 / 15 levels as a `snapshot` on every change.
- `trade`: recent trades as a `snapshot` on subscribe, then each trade as an `update`.
- `ticker`: last, best bid / ask, mark, index, funding rate and next funding time, as a
  `snapshot` on every change.

Every push is `{"action", "arg": {instType, channel, instId}, "data": [...], "ts": <ms>}`. The
account's own taker fills are trades on the tape too. Every mark and last price also goes to the
plan orders (`TriggerDesk.on_price`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.checksum import checksum
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols, id_maker, ms_text
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.market_tape import SequencedBook, Tape
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn
from pmm.core.book import OrderBook
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BookDelta, BookSnapshot, FundingInfoUpdated, MarketEvent, OrderFilled, Trade
from pmm.core.model import Liquidity, Side

FULL_BOOK = 400  # the `books` channel's depth (Bitget sends every level; the simulator has fewer)
BOOK_DEPTHS: dict[str, int] = {spec.CHANNEL_BOOKS: FULL_BOOK, "books1": 1, "books5": 5, "books15": 15}
PUBLIC_CHANNELS = (*BOOK_DEPTHS, spec.CHANNEL_TRADE, spec.CHANNEL_TICKER)
FUNDING_CAP = "0.003"
_FIRST_SEQ = 1_343_064_377_000
_SNAPSHOT_TRADES = 50


def arg_of(channel: str, symbol: str, inst_type: str = spec.PRODUCT_TYPE) -> dict[str, str]:
    return {"instType": inst_type, "channel": channel, "instId": symbol}


class PublicStreams:
    """Every market's public state and channels (see module docstring)."""

    def __init__(self, symbols: BitgetSymbols, book_of: Any, hub: StreamHub, faults: FaultInjector,
                 triggers: TriggerDesk | None, clock: Clock, inst_type: str = spec.PRODUCT_TYPE) -> None:
        self._symbols = symbols
        self.inst_type = inst_type  # USDT-FUTURES, or SPOT for the spot server
        self._book_of = book_of
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        new_trade_id = id_maker(1_200_000_000_000_000_000)
        self.tapes = {s: Tape(symbols.market(s) or s, tuple(BOOK_DEPTHS.values()), _FIRST_SEQ, new_trade_id)
                      for s in symbols.symbols()}

    def _push(self, channel: str, symbol: str, action: str, rows: list[dict[str, Any]], *,
              shape: str | None = None) -> None:
        key = (channel, symbol)
        if self._hub.has_subscribers(key):
            self._hub.publish(key, {"action": action, "arg": arg_of(channel, symbol, self.inst_type), "data": rows,
                                    "ts": ms(self._clock.now())}, shape=shape)

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
            result = stream.update(book, ts, skip if channel == spec.CHANNEL_BOOKS else 0)
            if result is None:
                continue
            changed = changed or channel == spec.CHANNEL_BOOKS
            _, seq, (bids, asks) = result
            if channel == spec.CHANNEL_BOOKS:
                if skip:  # the lost messages' changes (folded into this diff) never reach the client
                    asks, bids = (), ()
                data = {"asks": self.levels(symbol, asks), "bids": self.levels(symbol, bids),
                        "checksum": self.checksum(symbol, stream), "seq": seq, "ts": ms_text(stream.ts)}
                self._push(channel, symbol, "update", [data], shape="depth")
            else:
                self._push(channel, symbol, "snapshot", [self.book_data(symbol, stream, depth)])
        if skip and not changed:
            self._faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next change
        self._push(spec.CHANNEL_TICKER, symbol, "snapshot", self._rows(self.ticker, symbol))

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        self._push(spec.CHANNEL_TRADE, symbol, "update", [self.trade_row(symbol, done)])
        self._push(spec.CHANNEL_TICKER, symbol, "snapshot", self._rows(self.ticker, symbol))
        if self._triggers is not None:
            self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        self.tapes[symbol].on_funding(info)
        self._push(spec.CHANNEL_TICKER, symbol, "snapshot", self._rows(self.ticker, symbol))
        if self._triggers is not None:
            self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    @staticmethod
    def _rows(make: Callable[[str], dict[str, Any] | None], symbol: str) -> list[dict[str, Any]]:
        row = make(symbol)
        return [row] if row is not None else []

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- payloads (REST and WebSocket) --------------------------------------------------------------

    def levels(self, symbol: str, levels: Any) -> list[list[str]]:
        return self._symbols.grid(symbol).levels(levels)

    def checksum(self, symbol: str, stream: SequencedBook) -> int:
        bids = [(a, b) for a, b in self.levels(symbol, stream.levels(Side.BUY, spec.CHECKSUM_DEPTH))]
        asks = [(a, b) for a, b in self.levels(symbol, stream.levels(Side.SELL, spec.CHECKSUM_DEPTH))]
        return checksum(bids, asks)

    def book_data(self, symbol: str, stream: SequencedBook, depth: int) -> dict[str, Any]:
        return {"asks": self.levels(symbol, stream.levels(Side.SELL, depth)),
                "bids": self.levels(symbol, stream.levels(Side.BUY, depth)),
                "checksum": self.checksum(symbol, stream), "seq": stream.seq,
                "ts": ms_text(stream.ts or self._clock.now())}

    def first_messages(self, channel: str, symbol: str) -> list[dict[str, Any]]:
        """What Bitget pushes right after a public subscribe: the channel's snapshot."""
        now = ms(self._clock.now())
        tape = self.tapes[symbol]
        if channel in BOOK_DEPTHS:
            rows = [self.book_data(symbol, tape.books[BOOK_DEPTHS[channel]], BOOK_DEPTHS[channel])]
        elif channel == spec.CHANNEL_TRADE:
            rows = [self.trade_row(symbol, t) for t in list(tape.trades)[-_SNAPSHOT_TRADES:][::-1]]
        else:
            rows = self._rows(self.ticker, symbol)
        return [{"action": "snapshot", "arg": arg_of(channel, symbol, self.inst_type), "data": rows, "ts": now}]

    def trade_row(self, symbol: str, trade: Any) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        return {"ts": ms_text(trade.ts), "price": grid.price(trade.price), "size": grid.qty(trade.qty),
                "side": trade.taker_side.value.lower(), "tradeId": trade.trade_id}

    def ticker(self, symbol: str) -> dict[str, Any] | None:
        """One ticker row (the channel's and GET /market/ticker's)."""
        tape = self.tapes[symbol]
        grid = self._symbols.grid(symbol)
        book: OrderBook = self._book_of(tape.market)
        last = tape.last
        if last is None and book.mid is None:
            return None
        last_px = last.price if last else book.mid
        assert last_px is not None
        bid, ask = book.levels(Side.BUY, 1), book.levels(Side.SELL, 1)
        day, info = tape.day, tape.funding
        opened = day.open(last_px)
        return {
            "instId": symbol, "symbol": symbol, "lastPr": grid.price(last_px),
            "bidPr": grid.price(bid[0][0]) if bid else "", "askPr": grid.price(ask[0][0]) if ask else "",
            "bidSz": grid.qty(bid[0][1]) if bid else "", "askSz": grid.qty(ask[0][1]) if ask else "",
            "open24h": grid.price(opened), "high24h": grid.price(day.high(last_px)),
            "low24h": grid.price(day.low(last_px)),
            "change24h": format(((last_px - opened) / opened).quantize(Decimal("1e-5")), "f") if opened else "0",
            "fundingRate": format(info.rate, "f") if info else "0",
            "nextFundingTime": ms_text(info.next_funding_ts) if info else "",
            "markPrice": grid.price(info.mark_price) if info else grid.price(last_px),
            "indexPrice": grid.price(info.index_price) if info else grid.price(last_px),
            "holdingAmount": "0", "baseVolume": grid.qty(day.volume), "quoteVolume": format(day.turnover, "f"),
            "usdtVolume": format(day.turnover, "f"), "openUtc": grid.price(opened), "changeUtc24h": "0",
            "symbolType": 1, "deliveryPrice": "0", "deliveryStartTime": "", "deliveryTime": "",
            "deliveryStatus": "", "ts": ms_text(self._clock.now()),
        }

    def funding_rate(self, symbol: str) -> dict[str, Any] | None:
        """One current-fund-rate row."""
        info = self.tapes[symbol].funding
        if info is None:
            return None
        return {"symbol": symbol, "fundingRate": format(info.rate, "f"),
                "fundingRateInterval": format(Decimal(str(info.interval_s)) / 3600, "f").rstrip("0").rstrip("."),
                "nextUpdate": ms_text(info.next_funding_ts), "minFundingRate": f"-{FUNDING_CAP}",
                "maxFundingRate": FUNDING_CAP}
