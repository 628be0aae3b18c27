"""Public channels of the Gate server, built from the simulator's public events (Gate futures
WebSocket v4, exchange_apis_more.md §H6):

- `futures.order_book_update` (`[contract, "100ms" | "20ms", "100" | "50" | "20"]`): one push per
  change of the level's top levels, `{t, s, U, u, b, a, l}` with absolute sizes (0 removes a
  level). Each change moves the book's id on by one, so a push's `U` is the previous push's `u` + 1
  and `GET /order_book?with_id=true` names the id its levels are at. An injected skip
  (`faults.skip_depth_update_ids(n)`) loses n ids: the next push starts n past the last one sent,
  and clients must rebuild from a new snapshot.
- `futures.trades`: `[{size, id, create_time, create_time_ms, price, contract}]`, `size` negative
  when the taker sold. The account's own taker fills are trades on the tape too.
- `futures.tickers`: last, mark and index price, funding rate, 24 h figures, best bid and ask.

Every push is `{"time", "time_ms", "channel", "event": "update", "result"}`. Every mark and last
price also goes to the price-triggered orders (`TriggerDesk.on_price`).
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.market_tape import Tape, TapeTrade
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols, id_maker, money, ms, seconds
from pmm.core.book import OrderBook
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BookDelta, BookSnapshot, FundingInfoUpdated, MarketEvent, OrderFilled, Trade
from pmm.core.model import Liquidity, Side

BOOK_DEPTHS = (20, 50, 100)
BOOK_INTERVALS = ("20ms", "100ms")
_FIRST_ID = 2_610_000_000


def push(channel: str, result: Any, now: float) -> dict[str, Any]:
    return {"time": int(now), "time_ms": ms(now), "channel": channel, "event": "update", "result": result}


class PublicStreams:
    """Every market's public state and channels (see module docstring)."""

    def __init__(self, symbols: GateSymbols, book_of: Any, hub: StreamHub, faults: FaultInjector,
                 triggers: TriggerDesk, clock: Clock) -> None:
        self._symbols = symbols
        self._book_of = book_of
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        new_trade_id = id_maker(120_000_000)
        self.tapes = {s: Tape(symbols.market(s) or s, BOOK_DEPTHS, _FIRST_ID, new_trade_id) for s in symbols.symbols()}

    def book_id(self, symbol: str) -> int:
        return self.tapes[symbol].books[max(BOOK_DEPTHS)].seq

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
        for depth in BOOK_DEPTHS:
            stream = tape.books[depth]
            result = stream.update(book, ts, skip)
            if result is None:
                continue
            changed = True
            prev, seq, (bids, asks) = result
            for interval in BOOK_INTERVALS:
                key = (spec.CHANNEL_BOOK_UPDATE, symbol, interval, str(depth))
                if self._hub.has_subscribers(key):
                    body = {"t": ms(ts), "s": symbol, "U": prev + 1, "u": seq, "b": self.levels(symbol, bids),
                            "a": self.levels(symbol, asks), "l": str(depth)}
                    self._hub.publish(key, push(spec.CHANNEL_BOOK_UPDATE, body, self._clock.now()), shape="depth")
        if skip and not changed:
            self._faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next change
        self._publish_ticker(symbol)

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        key: Hashable = (spec.CHANNEL_TRADES, symbol)
        if self._hub.has_subscribers(key):
            self._hub.publish(key, push(spec.CHANNEL_TRADES, [self.trade_row(symbol, done, ws=True)],
                                        self._clock.now()))
        self._publish_ticker(symbol)
        self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        self.tapes[symbol].on_funding(info)
        self._publish_ticker(symbol)
        self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    def _publish_ticker(self, symbol: str) -> None:
        key: Hashable = (spec.CHANNEL_TICKERS, symbol)
        if self._hub.has_subscribers(key) and (row := self.ticker(symbol)) is not None:
            self._hub.publish(key, push(spec.CHANNEL_TICKERS, [row], self._clock.now()))

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- payloads (REST and WebSocket) --------------------------------------------------------------

    def levels(self, symbol: str, levels: Any, *, decimal: bool = False) -> list[dict[str, Any]]:
        grid = self._symbols.grid(symbol)
        return [{"p": grid.price(p), "s": self._symbols.size(symbol, s, decimal=decimal)} for p, s in levels]

    def trade_row(self, symbol: str, t: TapeTrade, *, decimal: bool = False, ws: bool = False) -> dict[str, Any]:
        signed = t.qty if t.taker_side is Side.BUY else -t.qty
        row: dict[str, Any] = {"id": int(t.trade_id), "create_time": seconds(t.ts), "create_time_ms": ms(t.ts),
                               "contract": symbol, "size": self._symbols.size(symbol, signed, decimal=decimal),
                               "price": self._symbols.grid(symbol).price(t.price)}
        if not ws:
            row["is_internal"] = False
        return row

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
        day, info = tape.day, tape.funding
        opened = day.open(last_px)
        change = (last_px - opened) / opened * 100 if opened else Decimal(0)
        turnover = money(day.turnover)
        return {
            "contract": symbol, "last": grid.price(last_px), "change_percentage": format(change.quantize(
                Decimal("0.01")), "f"), "total_size": "0", "low_24h": grid.price(day.low(last_px)),
            "high_24h": grid.price(day.high(last_px)),
            "volume_24h": str(int(self._symbols.contracts(symbol, day.volume))),
            "volume_24h_btc": grid.qty(day.volume), "volume_24h_usd": turnover,
            "volume_24h_base": grid.qty(day.volume), "volume_24h_quote": turnover,
            "volume_24h_settle": turnover,
            "mark_price": grid.price(info.mark_price) if info else grid.price(last_px),
            "funding_rate": format(info.rate, "f") if info else "0",
            "funding_rate_indicative": format(info.rate, "f") if info else "0",
            "index_price": grid.price(info.index_price) if info else grid.price(last_px), "quanto_base_rate": "",
            "highest_bid": grid.price(bid[0][0]) if bid else "", "highest_size": self._symbols.size(
                symbol, bid[0][1]) if bid else 0, "lowest_ask": grid.price(ask[0][0]) if ask else "",
            "lowest_size": self._symbols.size(symbol, ask[0][1]) if ask else 0,
        }
