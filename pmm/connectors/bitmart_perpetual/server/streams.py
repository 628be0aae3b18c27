"""Public channels of the BitMart server, built from the simulator's public events (Futures V2
"Public Channels", exchange_apis_more.md §K6). Every push is `{"group": <topic>, "data": ...}`.

- `futures/depthIncrease{5,20,50}:<symbol>@{100ms,200ms}`: a `snapshot` on subscribe and on each
  `request`, then an `update` per book change carrying the changed levels (absolute volumes, "0"
  deletes); each message's `version` is the previous one + 1. An injected skip
  (`faults.skip_depth_update_ids(n)`) loses n versions: the next update is n + 1 past the last one
  a client saw, and clients must request a new snapshot. Levels are `{"price", "vol"}`.
- `futures/depth{5,20,50}:<symbol>[@100ms|@200ms]` (the older depth channel, which ccxt reads): a
  whole side's top N per push, `{symbol, way (1 bids, 2 asks), depths [{price, vol}], ms_t}`; both
  sides on subscribe, then each side whose top N changed.
- `futures/trade:<symbol>`: `[{trade_id, symbol, deal_price, deal_vol, m, created_at}]`, `m` true when
  the buyer made (the taker sold).
- `futures/ticker:<symbol>`: last, mark, index, best bid and ask, on every change.
- `futures/fundingRate:<symbol>`: on subscribe and at each funding update.

The account's own taker fills are trades on the tape too. Every mark and last price also goes to
the conditional orders (`TriggerDesk.on_price`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.wire import BitmartSymbols, id_maker
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.market_tape import SequencedBook, Tape
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn
from pmm.core.book import OrderBook
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BookDelta, BookSnapshot, FundingInfoUpdated, MarketEvent, OrderFilled, Trade
from pmm.core.model import Liquidity, Side

DEPTHS = (5, 20, 50)
SPEEDS = ("100ms", "200ms")
_WAYS = ((Side.BUY, 1), (Side.SELL, 2))  # the depth channel's `way` of each side
FUNDING_CAP = "0.0375"
_FIRST_VERSION = 980_361


def depth_channel(depth: int) -> str:
    return f"futures/depthIncrease{depth}"


def whole_depth_channel(depth: int) -> str:
    return f"futures/depth{depth}"


WHOLE_DEPTH_CHANNELS = {whole_depth_channel(d): d for d in DEPTHS}


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """"futures/depthIncrease50:BTCUSDT@100ms" -> (channel, symbol, speed); None when malformed."""
    channel, sep, rest = topic.partition(":")
    if not sep or not rest:
        return None
    symbol, _, speed = rest.partition("@")
    return channel, symbol, speed


def iso_ns(ts: float) -> str:
    """A trade time as BitMart writes it: ISO-8601 UTC with nanoseconds."""
    moment = datetime.fromtimestamp(int(ts), tz=UTC)
    nanos = round((ts - int(ts)) * 1e9)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"


class PublicStreams:
    """Every market's public state and channels (see module docstring)."""

    def __init__(self, symbols: BitmartSymbols, book_of: Any, hub: StreamHub, faults: FaultInjector,
                 triggers: TriggerDesk, clock: Clock) -> None:
        self._symbols = symbols
        self._book_of = book_of
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        new_trade_id = id_maker(1_409_495_322)
        self.tapes = {s: Tape(symbols.market(s) or s, DEPTHS, _FIRST_VERSION, new_trade_id)
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
        for depth in DEPTHS:
            stream = tape.books[depth]
            result = stream.update(book, ts, skip)
            if result is None:
                continue
            changed = True
            _, version, (bids, asks) = result
            data = {"symbol": symbol, "asks": self.levels(symbol, asks), "bids": self.levels(symbol, bids),
                    "ms_t": ms(ts), "version": version, "type": "update"}
            for speed in SPEEDS:
                topic = f"{depth_channel(depth)}:{symbol}@{speed}"
                if self._hub.has_subscribers(topic):
                    self._hub.publish(topic, {"data": data, "group": topic}, shape="depth")
            changed_sides = {side for side, levels in ((Side.BUY, bids), (Side.SELL, asks)) if levels}
            for suffix in ("", *(f"@{speed}" for speed in SPEEDS)):
                topic = f"{whole_depth_channel(depth)}:{symbol}{suffix}"
                if self._hub.has_subscribers(topic):
                    for push in self.whole_depth(topic, symbol, depth, changed_sides):
                        self._hub.publish(topic, push)
        if skip and not changed:
            self._faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next change
        self._publish(spec.CHANNEL_TICKER, symbol, self.ticker)

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        grid = self._symbols.grid(symbol)
        topic = spec.topic(spec.CHANNEL_TRADE, symbol)
        if self._hub.has_subscribers(topic):
            self._hub.publish(topic, {"group": topic, "data": [{
                "trade_id": int(done.trade_id), "symbol": symbol, "deal_price": grid.price(done.price),
                "deal_vol": self._symbols.contracts(symbol, done.qty), "m": done.taker_side is Side.SELL,
                "created_at": iso_ns(done.ts)}]})
        self._publish(spec.CHANNEL_TICKER, symbol, self.ticker)
        self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        self.tapes[symbol].on_funding(info)
        self._publish(spec.CHANNEL_TICKER, symbol, self.ticker)
        self._publish(spec.CHANNEL_FUNDING, symbol, self.funding_rate)
        self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    def _publish(self, channel: str, symbol: str, make: Callable[[str], dict[str, Any] | None]) -> None:
        topic = spec.topic(channel, symbol)
        if self._hub.has_subscribers(topic) and (row := make(symbol)) is not None:
            self._hub.publish(topic, {"data": row, "group": topic})

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- payloads (REST and WebSocket) --------------------------------------------------------------

    def levels(self, symbol: str, levels: Any) -> list[dict[str, str]]:
        grid = self._symbols.grid(symbol)
        return [{"price": grid.price(p), "vol": self._symbols.contracts(symbol, s)} for p, s in levels]

    def depth_snapshot(self, topic: str) -> dict[str, Any] | None:
        """The `depthIncrease` snapshot a subscribe or a `request` brings; None for an unknown topic."""
        parts = parse_topic(topic)
        if parts is None:
            return None
        channel, symbol, speed = parts
        depth = next((d for d in DEPTHS if depth_channel(d) == channel), None)
        if depth is None or symbol not in self.tapes or speed not in SPEEDS:
            return None
        stream: SequencedBook = self.tapes[symbol].books[depth]
        data = {"symbol": symbol, "asks": self.levels(symbol, stream.levels(Side.SELL, depth)),
                "bids": self.levels(symbol, stream.levels(Side.BUY, depth)),
                "ms_t": ms(stream.ts or self._clock.now()), "version": stream.seq, "type": "snapshot"}
        return {"data": data, "group": topic}

    def whole_depth(self, topic: str, symbol: str, depth: int, sides: set[Side] | None = None) -> list[dict[str, Any]]:
        """`futures/depth{N}` pushes: each of `sides` (both when None) as its whole top N."""
        stream = self.tapes[symbol].books[depth]
        return [{"group": topic, "data": {"symbol": symbol, "way": way,
                                          "depths": self.levels(symbol, stream.levels(side, depth)),
                                          "ms_t": ms(stream.ts or self._clock.now())}}
                for side, way in _WAYS if sides is None or side in sides]

    def rest_depth(self, symbol: str) -> dict[str, Any]:
        """GET /contract/public/depth: `[price, vol, cumulative vol]` rows, 50 levels a side."""
        stream = self.tapes[symbol].books[50]
        grid = self._symbols.grid(symbol)

        def rows(side: Side) -> list[list[str]]:
            out, total = [], Decimal(0)
            for price, size in stream.levels(side, 50):
                total += size
                out.append([grid.price(price), self._symbols.contracts(symbol, size),
                            self._symbols.contracts(symbol, total)])
            return out

        return {"asks": rows(Side.SELL), "bids": rows(Side.BUY), "timestamp": ms(stream.ts or self._clock.now()),
                "symbol": symbol}

    def ticker(self, symbol: str) -> dict[str, Any] | None:
        tape = self.tapes[symbol]
        info = tape.funding
        book: OrderBook = self._book_of(tape.market)
        if info is None or (tape.last is None and book.mid is None):
            return None
        grid = self._symbols.grid(symbol)
        last_px = tape.last.price if tape.last is not None else book.mid
        assert last_px is not None
        bid, ask = book.levels(Side.BUY, 1), book.levels(Side.SELL, 1)
        opened = tape.day.open(last_px)
        return {"symbol": symbol, "last_price": grid.price(last_px),
                "volume_24": self._symbols.contracts(symbol, tape.day.volume),
                "range": format(((last_px - opened) / opened).normalize() if opened else Decimal(0), "f"),
                "mark_price": grid.price(info.mark_price), "index_price": grid.price(info.index_price),
                "ask_price": grid.price(ask[0][0]) if ask else "0",
                "ask_vol": self._symbols.contracts(symbol, ask[0][1]) if ask else "0",
                "bid_price": grid.price(bid[0][0]) if bid else "0",
                "bid_vol": self._symbols.contracts(symbol, bid[0][1]) if bid else "0"}

    def funding_rate(self, symbol: str) -> dict[str, Any] | None:
        info = self.tapes[symbol].funding
        if info is None:
            return None
        rate = format(info.rate, "f")
        return {"symbol": symbol, "fundingRate": rate, "fundingTime": ms(info.next_funding_ts),
                "nextFundingRate": rate, "nextFundingTime": ms(info.next_funding_ts + info.interval_s),
                "funding_upper_limit": FUNDING_CAP, "funding_lower_limit": f"-{FUNDING_CAP}",
                "ts": ms(self._clock.now())}
