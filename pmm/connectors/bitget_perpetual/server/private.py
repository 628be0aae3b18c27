"""Private channels of the Bitget server (Bitget private WebSocket channels): every push is
`{"action": "snapshot", "arg": {instType, channel, instId | coin}, "data": [...], "ts": <ms>}`.

- `orders`: each change of an order of ours (its last fill in `tradeId` / `fillPrice` /
  `baseVolume`, the total in `accBaseVolume`);
- `fill`: each fill of ours;
- `positions`: after any position change, every open position of the account (of the symbol, for
  a per-symbol subscription): a side no longer listed is closed; `[]` when nothing is open;
- `account`: the margin coin's equity, available and frozen after any balance change;
- `orders-algo`: each plan-order change.

Subscriptions name `instId` "default" (every symbol) or one symbol, `coin` "default" for the
account. The pushes of one account event form one user frame for the fault injector (duplicated
or reordered together). Fills and funding also become ledger bills whether or not anybody listens.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.views import Views
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerOrder
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, BalanceUpdated, FundingPaymentReceived, OrderFilled, PositionUpdated

PRIVATE_CHANNELS = (spec.CHANNEL_ORDERS, spec.CHANNEL_FILL, spec.CHANNEL_POSITIONS, spec.CHANNEL_ACCOUNT,
                    spec.CHANNEL_PLAN)


def private_arg(key: tuple[Any, ...]) -> dict[str, str]:
    channel, inst_type, target = key
    name = "coin" if channel == spec.CHANNEL_ACCOUNT else "instId"
    return {"instType": inst_type, "channel": channel, name: target}


class PrivateStreams:
    """Turns the desks' events into ledger bills and private pushes."""

    def __init__(self, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector, clock: Clock) -> None:
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._out: list[tuple[Hashable, dict[str, Any]]] = []  # the pushes of the event at hand

    def _push(self, channel: str, symbol: str | None, rows: list[dict[str, Any]], *, per_symbol: bool = True) -> None:
        """`rows` to the `default` subscribers, and (filtered to `symbol`) to the symbol's own."""
        targets: list[tuple[str, list[dict[str, Any]]]] = [(spec.INST_ID_ALL, rows)]
        if per_symbol and symbol is not None:
            targets.append((symbol, [r for r in rows if r.get("instId", r.get("symbol")) == symbol]))
        for target, data in targets:
            key = (channel, spec.PRODUCT_TYPE, target)
            if self._hub.has_subscribers(key):
                self._out.append((key, {"action": "snapshot", "arg": private_arg(key), "data": data,
                                        "ts": ms(self._clock.now())}))

    def _flush(self) -> None:
        """Send the event's pushes as one user frame: duplicated or held back together when the
        injector disturbs the user stream (one stream for the whole account, as the venue's)."""
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for key, payload in frame:
                self._hub.publish(key, payload)

    # --- events -------------------------------------------------------------------------------------

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                bill = self._ledger.on_fill(event, order)
                if order is not None:
                    self._order(order, filled=True)
                    self._push(spec.CHANNEL_FILL, self._views.symbols.symbol(event.market),
                               [self._views.fill_push(bill)])
            case PositionUpdated():
                self._positions(event)
            case BalanceUpdated():
                self._push(spec.CHANNEL_ACCOUNT, None, self._views.accounts(push=True), per_symbol=False)
            case FundingPaymentReceived():
                self._ledger.on_funding(event)
            case _:
                if order is not None:
                    self._order(order, filled=False)
        self._flush()

    def on_trigger(self, trigger: TriggerOrder) -> None:
        symbol = self._views.symbols.symbol(trigger.market)
        self._push(spec.CHANNEL_PLAN, symbol, [self._views.plan(trigger, push=True)])
        self._flush()

    def _order(self, order: DeskOrder, *, filled: bool) -> None:
        symbol = self._views.symbols.symbol(order.market)
        self._push(spec.CHANNEL_ORDERS, symbol, [self._views.order(order, push=True, filled=filled)])

    def _positions(self, event: PositionUpdated) -> None:
        key = (event.market, event.side)
        if event.position is not None:
            self._views.opened.setdefault(key, event.ts)
        else:
            self._views.opened.pop(key, None)
        self._push(spec.CHANNEL_POSITIONS, self._views.symbols.symbol(event.market),
                   self._views.positions(event.ts))

    def push_positions(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the positions as they are now."""
        self._push(spec.CHANNEL_POSITIONS, self._views.symbols.symbol(market), self._views.positions(self._clock.now()))
        self._flush()

    def first_messages(self, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        """The snapshot Bitget pushes right after a private subscribe (positions, account)."""
        channel, _, target = key
        now = self._clock.now()
        if channel == spec.CHANNEL_POSITIONS:
            rows = [r for r in self._views.positions(now) if target == spec.INST_ID_ALL or r["instId"] == target]
        elif channel == spec.CHANNEL_ACCOUNT:
            rows = self._views.accounts(push=True)
        else:
            return []
        return [{"action": "snapshot", "arg": private_arg(key), "data": rows, "ts": ms(now)}]
