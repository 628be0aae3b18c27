"""The tables of the BitMEX server, built from the simulator's public events and the desks' account
events (BitMEX WebSocket API: `table`, `action`, `data`; exchange_apis_more.md §P).

Public: `orderBookL2` (full depth; rows keyed by symbol, id, side: a new price is an `insert`, a new
size an `update` that never moves the price, a gone price a `delete`), `trade` (inserts), `instrument`
(updates of mark, index, funding), `quote` (top of book inserts). Private: `execution` (inserts: New,
Trade, Canceled, Funding), `order` (an insert per new order, then updates), `position` (one row per
symbol; the first an insert, then updates; a closed position keeps its row with currentQty 0),
`margin` and `wallet` (updates). Every table's first message to a subscriber is its `partial` (`ws.py`).

Faults: `skip_depth_update_ids(n)` loses the next n book messages that hold an insert, so a client
meets an update or delete of a level it never saw (BitMEX numbers nothing: that is how a loss shows);
duplicated and reordered frames go through the injector per table message. The pushes of one account
event form one user frame (duplicated or held back together).
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.server.views import Views
from pmm.connectors.bitmex_perpetual.server.wire import BitmexSymbols, dumps, match_id
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.market_tape import Tape
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    FundingInfoUpdated,
    FundingPaymentReceived,
    MarketEvent,
    OrderAccepted,
    OrderFilled,
    PositionUpdated,
    Trade,
)
from pmm.core.model import Liquidity, Side
from pmm.sim.exchange import SimExchange

Row = dict[str, Any]
_FIRST_SEQ = 1
RECENT_TRADES = 50  # rows of a trade partial


def keys_of(table: str, symbol: str | None) -> list[Hashable]:
    """The subscription keys a row of `table` about `symbol` goes to (by symbol, and the whole table)."""
    return [(table, None)] if symbol is None else [(table, symbol), (table, None)]


def message(table: str, action: str, rows: list[Row]) -> Row:
    return {"table": table, "action": action, "data": rows}


class PublicTables:
    """Every market's public state and tables (see module docstring)."""

    def __init__(self, symbols: BitmexSymbols, views: Views, exchange: SimExchange, hub: StreamHub,
                 faults: FaultInjector, triggers: TriggerDesk, clock: Clock) -> None:
        self._symbols = symbols
        self._views = views
        self._exchange = exchange
        self._hub = hub
        self._faults = faults
        self._triggers = triggers
        self._clock = clock
        self._lost_inserts = 0
        self.tapes = {s: Tape(symbols.market(s) or s, (None,), _FIRST_SEQ, self._trade_ids())
                      for s in symbols.symbols()}

    @staticmethod
    def _trade_ids() -> Any:
        counter = iter(range(1, 10**12))
        return lambda: match_id(f"T{next(counter) + 7_000_000}")

    def publish(self, table: str, symbol: str | None, action: str, rows: list[Row], *,
                shape: str | None = None) -> None:
        keys = [k for k in keys_of(table, symbol) if self._hub.has_subscribers(k)]
        if not keys or not rows:
            return
        text = dumps(message(table, action, rows))
        for key in keys:
            self._hub.publish(key, text, shape=shape)

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
        stream = self.tapes[symbol].books[None]
        self._lost_inserts += self._faults.take_depth_skip()
        before = {(True, p) for p, _ in stream.levels(Side.BUY)} | {(False, p) for p, _ in stream.levels(Side.SELL)}
        result = stream.update(self._exchange.book(market), ts)
        if result is None:
            return
        _, _, (bids, asks) = result
        sides: dict[bool, dict[str, list[Row]]] = {}
        for buy, levels in ((False, asks), (True, bids)):
            by_action: dict[str, list[Row]] = sides.setdefault(buy, {"insert": [], "update": [], "delete": []})
            for price, size in levels:
                if size == 0:
                    by_action["delete"].append(self._views.book_row(symbol, buy, price, None, ts))
                elif (buy, price) in before:
                    by_action["update"].append({k: v for k, v in self._views.book_row(symbol, buy, price, size, ts)
                                                .items() if k != "price"})
                else:
                    by_action["insert"].append(self._views.book_row(symbol, buy, price, size, ts))
        if self._lost_inserts and any(side["insert"] for side in sides.values()):
            self._lost_inserts -= 1
            return  # lost on the way: a later update or delete of these levels shows the gap
        # The side the book moves towards goes first, and each side adds before it removes, so a
        # client applying the messages one by one never holds an empty side or a crossed book.
        old_bids = [p for buy, p in before if buy]
        new_bids = [p for p, _ in stream.levels(Side.BUY)]
        rising = bool(old_bids) and bool(new_bids) and max(new_bids) >= max(old_bids)
        for buy in (False, True) if rising else (True, False):
            for action in ("insert", "update", "delete"):
                self.publish(spec.TABLE_BOOK, symbol, action, sides[buy][action], shape="depth")
        quote = self.quote(symbol)
        self.publish(spec.TABLE_QUOTE, symbol, "insert", [quote] if quote is not None else [])

    def on_account_event(self, event: AccountEvent | None, order: object) -> None:
        """The account's own taker fills are market trades too: they go on the public tape."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._on_trade(Trade(event.market, event.trade_id, event.price, event.amount, event.side, event.ts,
                                 event.ts))

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        self.publish(spec.TABLE_TRADE, symbol, "insert", [self._views.trade(
            symbol, done.trade_id, done.price, done.qty, done.taker_side is Side.BUY, done.ts)])
        self.publish(spec.TABLE_INSTRUMENT, symbol, "update", [{
            "symbol": symbol, "lastPrice": self._symbols.price(symbol, done.price),
            "lastTickDirection": "PlusTick", "timestamp": self._views_iso(done.ts)}])
        self._triggers.on_price(trade.market, TriggerOn.LAST, trade.price)

    def _on_funding(self, event: FundingInfoUpdated) -> None:
        info = event.info
        symbol = self._symbols.symbol(info.market)
        self.tapes[symbol].on_funding(info)
        self.publish(spec.TABLE_INSTRUMENT, symbol, "update", [{
            "symbol": symbol, "markPrice": self._symbols.price(symbol, info.mark_price),
            "fairPrice": self._symbols.price(symbol, info.mark_price),
            "indicativeSettlePrice": self._symbols.price(symbol, info.index_price),
            "fundingRate": info.rate, "indicativeFundingRate": info.rate,
            "fundingTimestamp": self._views_iso(info.next_funding_ts), "timestamp": self._views_iso(event.ts)}])
        self._triggers.on_price(info.market, TriggerOn.MARK, info.mark_price)

    def _views_iso(self, ts: float) -> str:
        from pmm.connectors.bitmex_perpetual.server.wire import iso
        return iso(ts)

    def last_price(self, market: str) -> Decimal | None:
        last = self.tapes[self._symbols.symbol(market)].last
        return last.price if last is not None else None

    # --- partials and REST reads -----------------------------------------------------------------------

    def book_rows(self, symbol: str, depth: int | None = None) -> list[Row]:
        """The book as BitMEX lists it: asks from the highest price down, then bids from the highest."""
        stream = self.tapes[symbol].books[None]
        ts = stream.ts or self._clock.now()
        asks = stream.levels(Side.SELL)[:depth] if depth else stream.levels(Side.SELL)
        bids = stream.levels(Side.BUY)[:depth] if depth else stream.levels(Side.BUY)
        return ([self._views.book_row(symbol, False, p, s, ts) for p, s in reversed(asks)]
                + [self._views.book_row(symbol, True, p, s, ts) for p, s in bids])

    def trade_rows(self, symbol: str, count: int = RECENT_TRADES) -> list[Row]:
        trades = list(self.tapes[symbol].trades)[-count:]
        return [self._views.trade(symbol, t.trade_id, t.price, t.qty, t.taker_side is Side.BUY, t.ts) for t in trades]

    def instrument(self, symbol: str) -> Row:
        return self._views.instrument(symbol, self.tapes[symbol], self._clock.now())

    def quote(self, symbol: str) -> Row | None:
        stream = self.tapes[symbol].books[None]
        bids, asks = stream.levels(Side.BUY)[:1], stream.levels(Side.SELL)[:1]
        if not bids or not asks:
            return None
        return {"timestamp": self._views_iso(stream.ts or self._clock.now()), "symbol": symbol,
                "bidSize": self._symbols.contracts(symbol, bids[0][1]), "bidPrice": self._symbols.price(symbol,
                                                                                                     bids[0][0]),
                "askPrice": self._symbols.price(symbol, asks[0][0]),
                "askSize": self._symbols.contracts(symbol, asks[0][1])}


class PrivateTables:
    """Turns the desks' events into ledger bills, execution rows and private pushes."""

    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector,
                 clock: Clock, new_exec_id: Any) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._new_exec_id = new_exec_id
        self.executions: list[Row] = []          # every execution since the server started, oldest first
        self.announced_orders: set[str] = set()   # order ids inserted into the order table
        self.position_symbols: set[str] = set()   # symbols with a position row
        self._out: list[tuple[str, str | None, str, list[Row]]] = []

    def _push(self, table: str, symbol: str | None, action: str, rows: list[Row]) -> None:
        if rows and any(self._hub.has_subscribers(k) for k in keys_of(table, symbol)):
            self._out.append((table, symbol, action, rows))

    def _flush(self) -> None:
        """The event's pushes as one user frame: duplicated or held back together by the injector."""
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for table, symbol, action, rows in frame:
                text = dumps(message(table, action, rows))
                for key in keys_of(table, symbol):
                    self._hub.publish(key, text)

    # --- events -------------------------------------------------------------------------------------

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                bill = self._ledger.on_fill(event, order)
                if order is not None:
                    self._execution(order, spec.EXEC_TYPE_TRADE, bill=bill)
            case OrderAccepted():
                if order is not None:
                    self._execution(order, "New")
            case PositionUpdated():
                self._position(event.market)
            case BalanceUpdated():
                self._margin()
            case FundingPaymentReceived():
                bill = self._ledger.on_funding(event)
                row = self._views.funding_execution(bill, self._new_exec_id())
                self.executions.append(row)
                self._push(spec.TABLE_EXECUTION, row["symbol"], "insert", [row])
            case _:
                if order is not None and order.state in (State.CANCELED, State.REJECTED):
                    self._execution(order, "Canceled" if order.state is State.CANCELED else "Rejected")
        self._flush()

    def _execution(self, order: DeskOrder, exec_type: str, *, bill: Any = None) -> None:
        row = self._views.execution(order, self._new_exec_id(), exec_type, bill=bill)
        self.executions.append(row)
        symbol = row["symbol"]
        self._push(spec.TABLE_EXECUTION, symbol, "insert", [row])
        order_row = self._views.order(order)
        if order.order_id in self.announced_orders:
            self._push(spec.TABLE_ORDER, symbol, "update", [order_row])
        else:
            self.announced_orders.add(order.order_id)
            self._push(spec.TABLE_ORDER, symbol, "insert", [order_row])

    def on_trigger(self, trigger: TriggerOrder) -> None:
        row = self._views.stop_order(trigger)
        symbol = row["symbol"]
        if trigger.algo_id in self.announced_orders:
            self._push(spec.TABLE_ORDER, symbol, "update", [row])
        else:
            self.announced_orders.add(trigger.algo_id)
            self._push(spec.TABLE_ORDER, symbol, "insert", [row])
        self._flush()

    def position_row(self, market: str) -> Row:
        held = next((p for p in self._exchange.positions() if p.market == market), None)
        return self._views.position(market, held, self._clock.now())

    def _position(self, market: str) -> None:
        row = self.position_row(market)
        symbol = row["symbol"]
        action = "update" if symbol in self.position_symbols else "insert"
        self.position_symbols.add(symbol)
        self._push(spec.TABLE_POSITION, symbol, action, [row])

    def push_position(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the market's position row as it is now."""
        self._position(market)
        self._flush()

    def _margin(self) -> None:
        balance = self._views.usdt_balance()
        if balance is None:
            return
        now = self._clock.now()
        self._push(spec.TABLE_MARGIN, None, "update", [self._views.margin(balance, now)])
        self._push(spec.TABLE_WALLET, None, "update", [self._views.wallet(balance, now)])

    # --- partials -------------------------------------------------------------------------------------

    def rows(self, table: str, symbol: str | None, open_orders: list[Row]) -> list[Row]:
        """The rows of a private table's partial (`symbol` None: every symbol)."""
        now = self._clock.now()
        if table == spec.TABLE_ORDER:
            return [r for r in open_orders if symbol is None or r["symbol"] == symbol]
        if table == spec.TABLE_POSITION:
            markets = [self._views.symbols.market(s) for s in sorted(self.position_symbols)]
            rows = [self.position_row(m) for m in markets if m is not None]
            return [r for r in rows if symbol is None or r["symbol"] == symbol]
        balance = self._views.usdt_balance()
        if table == spec.TABLE_MARGIN and balance is not None:
            return [self._views.margin(balance, now)]
        if table == spec.TABLE_WALLET and balance is not None:
            return [self._views.wallet(balance, now)]
        return []  # execution: past executions are read over REST
