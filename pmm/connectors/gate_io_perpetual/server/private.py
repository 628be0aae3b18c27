"""Private channels of the Gate server, built from the order desk's events (Gate futures WebSocket
v4, exchange_apis_more.md §H6). Payloads name the user id and a contract or "!all":

- `futures.usertrades`: each fill of ours `{id, create_time, create_time_ms, contract, order_id,
  size, price, role, text, fee, point_fee}`, pushed before the order's own change;
- `futures.orders`: every order change (open on acceptance and per fill, finished with its
  `finish_as`), with `create_time_ms`, `finish_time_ms`, `left`, `fill_price`;
- `futures.positions`: each position change (a closed one with size 0);
- `futures.balances`: each wallet change `{balance, change, text, time, time_ms, type, user,
  currency}`: a fill's `pnl` and `fee`, a settlement's `fund`.

Every push is `{"time", "time_ms", "channel", "event": "update", "result": [...]}`. The pushes of
one account event form one user frame for the fault injector (duplicated or reordered together).
Fills and funding also become ledger bills whether or not anybody listens.
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.connectors.common.server.ledger import Bill, Ledger
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.streams import push
from pmm.connectors.gate_io_perpetual.server.views import UID, Views
from pmm.connectors.gate_io_perpetual.server.wire import ms
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, FundingPaymentReceived, OrderFilled, PositionUpdated
from pmm.core.model import ZERO, PositionMode, PositionSide
from pmm.sim.exchange import SimExchange

ALL = "!all"


def private_keys(channel: str, symbol: str | None) -> list[Hashable]:
    """The subscription keys a push goes to: the contract's and "!all" (balances: the account's)."""
    if symbol is None:
        return [(channel,)]
    return [(channel, symbol), (channel, ALL)]


class PrivateStreams:
    """Turns the desk's events into ledger bills and private pushes."""

    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector,
                 clock: Clock) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._out: list[tuple[Hashable, dict[str, Any]]] = []
        self.totals: dict[str, Decimal] = {}  # account history: pnl, fee, fund

    def _push(self, channel: str, symbol: str | None, rows: list[dict[str, Any]]) -> None:
        for key in private_keys(channel, symbol):
            if self._hub.has_subscribers(key):
                self._out.append((key, push(channel, rows, self._clock.now())))

    def _flush(self) -> None:
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for key, payload in frame:
                self._hub.publish(key, payload)

    # --- events -------------------------------------------------------------------------------------

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        self._on_order_event(event, order)
        self._flush()

    def _on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                bill = self._ledger.on_fill(event, order)
                self._add("pnl", event.realized_pnl)
                self._add("fee", -event.fee)
                symbol = self._views.symbols.symbol(event.market)
                self._push(spec.CHANNEL_USER_TRADES, symbol, [self._views.fill(bill, push=True)])
                if order is not None:
                    self._push(spec.CHANNEL_ORDERS, symbol, [self._views.order(order, push=True)])
                self._balances(bill)
            case PositionUpdated():
                self._position(event)
            case FundingPaymentReceived():
                bill = self._ledger.on_funding(event)
                self._add("fund", event.amount)
                self._balances(bill)
            case _:
                if order is not None:
                    symbol = self._views.symbols.symbol(order.market)
                    self._push(spec.CHANNEL_ORDERS, symbol, [self._views.order(order, push=True)])

    def _add(self, kind: str, amount: Decimal) -> None:
        self.totals[kind] = self.totals.get(kind, ZERO) + amount

    def _balances(self, bill: Bill) -> None:
        rows = [{"balance": r["balance"], "change": r["change"], "text": r["text"], "time": int(r["time"]),
                 "time_ms": ms(float(r["time"])), "type": r["type"], "user": str(UID), "currency": bill.asset}
                for r in reversed(self._views.account_book(bill))]
        self._push(spec.CHANNEL_BALANCES, None, rows)

    def _position(self, event: PositionUpdated) -> None:
        key = (event.market, event.side)
        if event.position is not None:
            self._views.opened.setdefault(key, event.ts)
        else:
            self._views.opened.pop(key, None)
            other = PositionSide.SHORT if event.side is PositionSide.LONG else PositionSide.LONG
            oneway = self._exchange.position_mode() is PositionMode.ONEWAY
            if oneway and any(p.market == event.market and p.side is other for p in self._exchange.positions()):
                return  # a one-way flip: the other side's update shows the position
        symbol = self._views.symbols.symbol(event.market)
        self._push(spec.CHANNEL_POSITIONS, symbol,
                   [self._views.position(event.position, event.market, event.side, event.ts, push=True)])

    def push_positions(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the market's positions as they are now."""
        symbol = self._views.symbols.symbol(market)
        now = self._clock.now()
        rows = [self._views.position(p, p.market, p.side, now, push=True) for p in self._exchange.positions()
                if p.market == market]
        if rows:
            self._push(spec.CHANNEL_POSITIONS, symbol, rows)
            self._flush()
