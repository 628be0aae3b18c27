"""Conditional orders of the Bybit server (docs `order/create-order.mdx`, `enum.mdx`): a create with
`triggerPrice` rests at the venue, `orderStatus` Untriggered and `stopOrderType` Stop, until the
trigger price (`triggerBy` LastPrice, the default, or MarkPrice) moves the way `triggerDirection`
says (1 rises to it, 2 falls to it). Then it is Triggered and becomes, with the same orderId and
orderLinkId, the active order it describes (Market, or Limit at its `price`; reduce-only when it
is), which fills or rests as any other. A cancel before it fires leaves it Deactivated.

A trigger already reached at placement is refused as Bybit refuses it: 110092 for a rising one at
or below the price now, 110093 for a falling one at or above it. IndexPrice triggers are refused
with 10001 (the simulator has no index path to trigger on).

The firing itself is the kit's (`common/server/triggers.py`): this desk is the `ChildOrderDesk`
the trigger engine hands a fired order to, and the listener that words each state change as Bybit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import api_error, param_error, refusal
from pmm.connectors.bybit_perpetual.server.orders import is_untriggered
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.common.numbers import parse_decimal
from pmm.connectors.common.server.desk_order import Cause, DeskOrder
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.core.clock import Clock
from pmm.core.events import FundingInfoUpdated, MarketEvent, Trade
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

_TRIGGER_BY = {c.TRIGGER_BY_LAST: TriggerOn.LAST, c.TRIGGER_BY_MARK: TriggerOn.MARK}
_REDUCE_ONLY_REFUSED = "reduce_only_rejected"  # the simulator's code (pmm/sim/validation.py)


class StopOrders:
    """The server's conditional orders, resting in the kit's trigger engine (see module docstring)."""

    def __init__(self, exchange: SimExchange, desk: OrderDesk, symbols: SymbolMap, clock: Clock,
                 last_price: Callable[[str], Decimal | None]) -> None:
        self._exchange = exchange
        self._desk = desk
        self._symbols = symbols
        self._clock = clock
        self._last_price = last_price
        self.triggers = TriggerDesk(self, exchange, clock, lambda: str(uuid.uuid4()))
        self.triggers.listen(self._on_trigger)

    # --- placing ------------------------------------------------------------------------------------

    def rest(self, req: RawRequest, order: DeskOrder) -> None:
        """Check the create's trigger fields, then rest `order` Untriggered until they are met."""
        trigger_price = parse_decimal(req.text("triggerPrice"))
        if trigger_price is None or trigger_price <= 0:
            raise param_error("params error: triggerPrice invalid")
        direction = req.text("triggerDirection")
        if direction not in (str(c.TRIGGER_DIRECTION_RISE), str(c.TRIGGER_DIRECTION_FALL)):
            raise param_error("params error: TriggerDirection invalid")
        trigger_by = req.text("triggerBy") or c.TRIGGER_BY_LAST
        on = _TRIGGER_BY.get(trigger_by)
        if on is None:
            raise param_error(f"params error: triggerBy {trigger_by} is not served by the simulated venue "
                              f"({c.TRIGGER_BY_LAST} or {c.TRIGGER_BY_MARK})")
        rising = int(direction) == c.TRIGGER_DIRECTION_RISE
        current = self._reference(order.market, on)
        if current is not None and (trigger_price <= current if rising else trigger_price >= current):
            grid = self._symbols.grid(self._symbols.symbol(order.market))
            raise api_error(R.TRIGGER_NOT_ABOVE if rising else R.TRIGGER_NOT_BELOW,
                            trigger=grid.price(trigger_price), current=grid.price(current))
        order.extra.update(trigger_price=trigger_price, trigger_direction=int(direction), trigger_by=trigger_by,
                           stop=c.ORDER_STATUS_UNTRIGGERED)
        if order.is_market:
            order.extra["price"] = Decimal(0)  # a market order gets its price when it fires
        self._desk.register(order)
        self.triggers.add(TriggerOrder(
            algo_id=order.order_id, client_id=order.client_id, market=order.market, side=order.side,
            trigger_price=trigger_price, trigger_on=on, rising=rising, qty=order.qty, order_price=order.price,
            position_side=order.position_side, reduce_only=order.reduce_only))
        self._desk.tell(order)

    def _reference(self, market: str, on: TriggerOn) -> Decimal | None:
        if on is TriggerOn.LAST:
            return self._last_price(market)
        try:
            return self._exchange.funding_info(market).mark_price
        except ExchangeUnavailable:  # no mark yet: nothing to compare with
            return None

    # --- cancelling ---------------------------------------------------------------------------------

    def cancel(self, orders: Iterable[DeskOrder]) -> list[DeskOrder]:
        """Deactivate the Untriggered ones; returns those deactivated."""
        live = [self.triggers.by_id[o.order_id] for o in orders
                if is_untriggered(o) and o.order_id in self.triggers.by_id]
        return [self._desk.by_id[t.algo_id] for t in self.triggers.cancel(live)]

    # --- firing -------------------------------------------------------------------------------------

    def on_public(self, event: MarketEvent) -> None:
        """The simulated last and mark prices, as they move: the trigger engine fires what they cross."""
        match event:
            case Trade():
                self.triggers.on_price(event.market, TriggerOn.LAST, event.price)
            case FundingInfoUpdated():
                self.triggers.on_price(event.info.market, TriggerOn.MARK, event.info.mark_price)
            case _:
                pass

    def _on_trigger(self, trigger: TriggerOrder) -> None:
        order = self._desk.by_id.get(trigger.algo_id)
        if order is None:
            return
        match trigger.state:
            case TriggerState.TRIGGERED:
                order.extra["stop"], order.updated = c.ORDER_STATUS_TRIGGERED, self._clock.now()
                self._desk.tell(order)
            case TriggerState.CANCELED:
                order.extra.update(stop=c.ORDER_STATUS_DEACTIVATED, reject_reason=c.REJECT_NO_ERROR)
                self._desk.close_refused(order, Cause.USER)
            case _:
                return  # LIVE: told by the create itself; FAILED: closed by `place`

    async def place(self, orders: Iterable[DeskOrder]) -> None:
        """A fired trigger's order (`ChildOrderDesk`): the conditional order itself goes to the simulator."""
        for child in orders:
            trigger: TriggerOrder = child.extra["algo"]
            order = self._desk.by_id.get(trigger.algo_id)
            if order is None:
                continue
            await self._desk.place([order])
            if order.rejection is not None:
                child.rejection = order.rejection
                order.extra.pop("stop", None)
                order.extra["reject_reason"] = refusal(order.rejection.code).reject_reason
                reduce_only = order.rejection.code == _REDUCE_ONLY_REFUSED  # nothing left to close
                order.extra["cancel_type"] = c.CANCEL_TYPE_BY_REDUCE_ONLY if reduce_only else c.CANCEL_TYPE_UNKNOWN
                self._desk.close_refused(order, Cause.VENUE)
