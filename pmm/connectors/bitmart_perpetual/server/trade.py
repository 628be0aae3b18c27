"""Order endpoints of the BitMart server (Futures V2 "Futures Trade"): submit-order, cancel-order,
cancel-orders (a symbol's every order), cancel-all-after (the dead-man switch), and plan orders
(submit-plan-order, cancel-plan-order; `current-plan-order` lists them).

Answers: submit-order `{"order_id": <number>, "price": <the order's price, or "market price">}`;
cancels `{}` (the outcome arrives on `futures/order`); cancel-all-after
`{"result": true, "set_time": <s>, "cancel_time": <s>}`. An order the simulator has not answered
in time is 40012 (system error: the client cannot know whether it exists). A Maker Only order that
would take is accepted and canceled at once, as a market order with nothing to take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.dialect import bitmart_error, param_error
from pmm.connectors.bitmart_perpetual.server.orders_in import OrderParser, plan_trigger, refusal
from pmm.connectors.bitmart_perpetual.server.views import Views
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import Fields, WireRequest
from pmm.core.clock import Clock
from pmm.core.model import PositionSide


class TradeHandlers:
    """Order placement and cancellation over the order desk, plan orders over the trigger desk."""

    def __init__(self, desk: OrderDesk, parser: OrderParser, faults: KitFaults, clock: Clock,
                 new_order_id: Callable[[], str], dead_men: Callable[[str], DeadManSwitch], triggers: TriggerDesk,
                 views: Views) -> None:
        self._desk = desk
        self._parser = parser
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id
        self._dead_men = dead_men
        self._triggers = triggers
        self._views = views

    async def submit(self, req: WireRequest) -> dict[str, Any]:
        order = self._parser.parse(req.fields(), self._new_order_id(), set())
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise bitmart_error(rejection)
        await self._desk.place([order])
        if order.rejection is not None:
            ref = refusal(order.rejection.code)
            if ref.code is not None:
                raise bitmart_error(ref.code)
            self._desk.close_refused(order, ref.cause)  # accepted, canceled at once
        elif order.state is State.PENDING:
            raise bitmart_error(40012)
        grid = self._views.symbols.grid(self._views.symbols.symbol(order.market))
        return {"order_id": int(order.order_id),
                "price": grid.price(order.price) if order.price is not None else "market price"}

    def _find(self, fields: Fields) -> DeskOrder:
        symbol = self._parser.symbol(fields)
        order_id, client_id = fields.text("order_id"), fields.text("client_order_id")
        order = self._desk.find(order_id, client_id)
        if order is None or self._views.symbols.symbol(order.market) != symbol or order.state is State.REJECTED:
            raise bitmart_error(40037 if order_id else 40035)
        return order

    async def cancel(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        if fields.text("order_id") is None and fields.text("client_order_id") is None:
            return await self.cancel_all(req)  # BitMart: neither id cancels the symbol's every order
        order = self._find(fields)
        if not order.is_open:
            raise bitmart_error(40036)
        await self._desk.cancel([order])
        return {}

    async def cancel_all(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._parser.symbol(req.fields())
        await self._desk.cancel(self._desk.open_orders(self._views.symbols.market(symbol)))
        return {}

    async def cancel_all_after(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        timeout = fields.integer("timeout")
        if timeout is None:
            raise param_error("timeout", missing=True)
        if timeout != 0 and timeout < spec.DEAD_MAN_MIN_S:
            raise param_error("timeout")
        now = self._clock.now()
        deadline = self._dead_men(symbol).arm(float(timeout))
        return {"result": True, "set_time": int(now), "cancel_time": int(deadline) if deadline is not None else 0}

    # --- plan orders --------------------------------------------------------------------------------

    async def submit_plan(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        side, position_side, reduce_only = self._parser.side(fields)
        qty = self._parser.contracts(fields, symbol)
        trigger_px, limit_px, rising, on_mark = plan_trigger(fields)
        client_id = self._parser.client_id(fields, {t.client_id for t in self._triggers.live() if t.client_id})
        closing = reduce_only or (position_side is not PositionSide.BOTH and position_side.closing_side is side)
        trigger = TriggerOrder(algo_id=self._new_order_id(), client_id=client_id, market=market, side=side,
                               trigger_price=trigger_px, trigger_on=TriggerOn.MARK if on_mark else TriggerOn.LAST,
                               rising=rising, qty=qty, order_price=limit_px, position_side=position_side,
                               reduce_only=reduce_only or closing)
        trigger.extra.update(side=fields.integer("side"), mode=fields.integer("mode", spec.MODE_GTC),
                             type=fields.text("type") or "limit", price_way=fields.integer("price_way"),
                             price_type=fields.integer("price_type", spec.PRICE_TYPE_LAST),
                             open_type=fields.text("open_type") or spec.OPEN_TYPE_CROSS,
                             leverage=fields.text("leverage") or "1")
        self._triggers.add(trigger)
        return {"order_id": int(trigger.algo_id)}

    async def cancel_plan(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        order_id, client_id = fields.text("order_id"), fields.text("client_order_id")
        if order_id is None and client_id is None:
            raise param_error("order_id", missing=True)
        found = [t for t in self._triggers.by_id.values() if self._views.symbols.symbol(t.market) == symbol
                 and (t.algo_id == order_id or (client_id is not None and t.client_id == client_id))]
        live = [t for t in found if t.state is TriggerState.LIVE]
        if not live:
            raise bitmart_error(40037 if order_id else 40035)
        self._triggers.cancel(live)
        return {}

    async def current_plans(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = fields.text("symbol")
        limit = fields.integer("limit", 100)
        rows = [self._views.plan(t) for t in reversed(self._triggers.live())
                if symbol is None or self._views.symbols.symbol(t.market) == symbol]
        return rows[:limit]
