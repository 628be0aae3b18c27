"""Private channels of the OKX server, built from the order desk's and trigger desk's events
(docs-v5 "Trade" / "Account" WebSocket channels, exchange_apis_more.md §G9):

- `orders`: every order change (live on acceptance, partially_filled / filled per fill with the
  fill's `fillPx`, `fillSz`, `tradeId`, `fillFee`, `execType`; canceled with its `cancelSource`);
- `positions`: a snapshot on subscribe, then each position change (a closed one with pos "0");
- `account`: the balance on subscribe and whenever it changes;
- `balance_and_position`: a snapshot on subscribe, then `filled` and `funding_fee` events;
- `orders-algo` (on /business): each conditional order change.

Every push is `{"arg": {..., "uid"}, "data": [...]}`. The pushes of one account event form one
user frame for the fault injector (duplicated or reordered together). Fills and funding also
become ledger bills whether or not anybody listens.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerOrder
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.views import Views
from pmm.connectors.okx_perpetual.server.wire import money, ms_text, trade_id
from pmm.connectors.okx_perpetual.server.ws import echo_arg, private_keys
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    FundingPaymentReceived,
    OrderFilled,
    PositionUpdated,
)
from pmm.core.model import PositionMode, PositionSide
from pmm.sim.exchange import SimExchange

UID = "44705892343619584"  # the simulated account's user id (OKX adds it to private push args)


class PrivateStreams:
    """Turns the desks' events into ledger bills and private pushes."""

    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector,
                 clock: Clock) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._out: list[tuple[Hashable, dict[str, Any]]] = []  # the pushes of the event at hand

    def _push(self, key: Hashable, rows: list[dict[str, Any]]) -> None:
        if self._hub.has_subscribers(key):
            assert isinstance(key, tuple)
            self._out.append((key, {"arg": echo_arg(key, UID), "data": rows}))

    def _flush(self) -> None:
        """Send the event's pushes as one user frame: duplicated or held back together when the
        injector disturbs the user stream (one stream for the whole account, as the venue's)."""
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for key, payload in frame:
                self._hub.publish(key, payload)

    def _push_symbol(self, channel: str, symbol: str, rows: list[dict[str, Any]]) -> None:
        for key in private_keys(channel, symbol):
            self._push(key, rows)

    # --- events -------------------------------------------------------------------------------------

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        self._on_order_event(event, order)
        self._flush()

    def _on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                bill = self._ledger.on_fill(event, order)
                self._views.last_trade[event.market] = trade_id(event.trade_id)
                if order is not None:
                    self._order(order, filled=True)
                self._balance_and_position("filled", event.market, [trade_id(event.trade_id)], bill.ts)
            case PositionUpdated():
                self._position(event)
            case BalanceUpdated():
                self._account(event.ts)
            case FundingPaymentReceived():
                self._ledger.on_funding(event)
                self._balance_and_position("funding_fee", event.market, [], event.ts)
            case _:
                if order is not None:
                    self._order(order, filled=False)

    def on_trigger(self, trigger: TriggerOrder) -> None:
        symbol = self._views.symbols.symbol(trigger.market)
        self._push_symbol(spec.CHANNEL_ALGO_ORDERS, symbol, [self._views.algo(trigger)])
        self._flush()

    def _order(self, order: DeskOrder, *, filled: bool) -> None:
        symbol = self._views.symbols.symbol(order.market)
        self._push_symbol(spec.CHANNEL_ORDERS, symbol, [self._views.order(order, push=True, filled=filled)])

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
        self._push_symbol(spec.CHANNEL_POSITIONS, symbol,
                          [self._views.position(event.position, event.market, event.side, event.ts)])

    def push_positions(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the market's positions as they are now."""
        symbol = self._views.symbols.symbol(market)
        rows = self._views.positions(self._clock.now(), symbol)
        if rows:
            self._push_symbol(spec.CHANNEL_POSITIONS, symbol, rows)
            self._flush()

    def _account(self, ts: float) -> None:
        balance = self._views.balance(ts)
        for key in [(spec.CHANNEL_ACCOUNT, None)] + [(spec.CHANNEL_ACCOUNT, d["ccy"]) for d in balance["details"]]:
            if key[1] is None:
                self._push(key, [balance])
            else:
                self._push(key, [self._views.balance(ts, {key[1]})])

    def _balance_and_position(self, event_type: str, market: str, trades: list[str], ts: float) -> None:
        key = ("balance_and_position",)
        if not self._hub.has_subscribers(key):
            return
        symbol = self._views.symbols.symbol(market)
        self._push(key, [self.balance_and_position(event_type, ts, symbol, trades)])

    # --- snapshots ----------------------------------------------------------------------------------

    def balance_and_position(self, event_type: str, ts: float, symbol: str | None = None,
                             trades: list[str] | None = None) -> dict[str, Any]:
        bal = [{"ccy": b.asset, "cashBal": money(b.total), "uTime": ms_text(ts)} for b in self._exchange.balances()]
        pos = [{key: row[key] for key in ("posId", "tradeId", "instId", "instType", "mgnMode", "posSide", "pos",
                                          "ccy", "avgPx", "nonSettleAvgPx", "settledPnl", "uTime")}
               | {"posCcy": ""} for row in self._views.positions(ts, symbol)]
        return {"pTime": ms_text(ts), "eventType": event_type, "balData": bal, "posData": pos,
                "trades": [{"instId": symbol, "tradeId": t} for t in trades or []]}

    def first_messages(self, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        """The snapshot OKX pushes right after a private subscribe (positions, account, b&p)."""
        now = self._clock.now()
        channel = key[0]
        if channel == spec.CHANNEL_POSITIONS:
            rows = [r for r in self._views.positions(now) if key[3] is None or r["instId"] == key[3]]
            return [{"arg": echo_arg(key, UID), "data": rows}]
        if channel == spec.CHANNEL_ACCOUNT:
            return [{"arg": echo_arg(key, UID), "data": [self._views.balance(now, None if key[1] is None
                                                                             else {key[1]})]}]
        if channel == "balance_and_position":
            return [{"arg": echo_arg(key, UID), "data": [self.balance_and_position("snapshot", now)]}]
        return []
