"""Private channels of the BitMart server, built from the order desk's events (Futures V2 private
channels, exchange_apis_more.md §K6). Every push is `{"group": <topic>, "data": ...}`:

- `futures/order`: `[{"action", "order"}]` per order change: 2 when accepted, 1 per fill (with
  `last_trade`), 3 when canceled (by the client, the dead-man switch, or at once: a Maker Only
  order that would take, the rest of an IOC or market order);
- `futures/position`: each position change (a closed one with hold_volume "0");
- `futures/asset:<currency>`: the balance whenever it changes.

The pushes of one account event form one user frame for the fault injector (duplicated or
reordered together). Fills and funding also become ledger rows whether or not anybody listens.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.views import Views
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BalanceUpdated, FundingPaymentReceived, OrderFilled, PositionUpdated
from pmm.core.model import PositionMode, PositionSide
from pmm.sim.exchange import SimExchange


class PrivateStreams:
    """Turns the desk's events into ledger rows and private pushes."""

    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector,
                 clock: Clock) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._out: list[tuple[str, dict[str, Any]]] = []  # the pushes of the event at hand

    def _push(self, topic: str, data: Any) -> None:
        if self._hub.has_subscribers(topic):
            self._out.append((topic, {"group": topic, "data": data}))

    def _flush(self) -> None:
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for topic, payload in frame:
                self._hub.publish(topic, payload)

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                self._ledger.on_fill(event, order)
                if order is not None:
                    self._push(spec.CHANNEL_ORDER, [self._views.order_push(order, spec.ACTION_MATCH)])
            case PositionUpdated():
                self._position(event)
            case BalanceUpdated():
                self._asset(event)
            case FundingPaymentReceived():
                self._ledger.on_funding(event)
            case _:
                if order is not None and order.state is not State.REJECTED:
                    action = spec.ACTION_CANCEL if order.state is State.CANCELED else spec.ACTION_SUBMIT
                    self._push(spec.CHANNEL_ORDER, [self._views.order_push(order, action)])
        self._flush()

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
        self._push(spec.CHANNEL_POSITION, [self._views.position_push(event.position, event.market, event.side,
                                                                     event.ts)])

    def push_positions(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the market's positions as they are now."""
        now = self._clock.now()
        rows = [self._views.position_push(p, p.market, p.side, now) for p in self._exchange.positions()
                if p.market == market]
        if rows:
            self._push(spec.CHANNEL_POSITION, rows)
            self._flush()

    def _asset(self, event: BalanceUpdated) -> None:
        row = self._views.asset(event.balance)
        self._push(spec.topic(spec.CHANNEL_ASSET, event.balance.asset),
                   {k: row[k] for k in ("currency", "available_balance", "position_deposit", "frozen_balance")})

    def first_messages(self, topic: str) -> list[dict[str, Any]]:
        """What BitMart pushes right after a private subscribe: the positions held (the channel is
        also pushed every 10 s), the asset's balance."""
        now = self._clock.now()
        if topic == spec.CHANNEL_POSITION:
            rows = [self._views.position_push(p, p.market, p.side, now) for p in self._exchange.positions()]
            return [{"group": topic, "data": rows}] if rows else []
        channel, _, currency = topic.partition(":")
        if channel == spec.CHANNEL_ASSET:
            for balance in self._exchange.balances():
                if balance.asset == currency:
                    row = self._views.asset(balance)
                    return [{"group": topic, "data": {k: row[k] for k in ("currency", "available_balance",
                                                                           "position_deposit", "frozen_balance")}}]
        return []
