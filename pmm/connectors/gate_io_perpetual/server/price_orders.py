"""Price-triggered orders of the Gate server (APIv4 "Create a price-triggered order"):
`POST /price_orders`, `GET /price_orders` (`status` open | finished), `GET` / `DELETE
/price_orders/{id}`, `DELETE /price_orders?contract=` (cancel all).

A request is `{"initial": {contract, size, price, tif, text, reduce_only, close, auto_size},
"trigger": {strategy_type 0, price_type 0 last | 1 mark, price, rule 1 (>=) | 2 (<=), expiration},
"order_type"?}` and is answered `{"id"}`. `initial.price` "0" fires a market order; size 0 with
`close: true` closes the whole position it guards. A trigger already crossed when placed fires at
the next price, as Gate's would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.dialect import gate_error
from pmm.connectors.gate_io_perpetual.server.orders_in import OrderParser
from pmm.connectors.gate_io_perpetual.server.trade import last_segment, paged
from pmm.connectors.gate_io_perpetual.server.views import Views
from pmm.core.clock import Clock
from pmm.core.model import PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange


class PriceOrderHandlers:
    def __init__(self, exchange: SimExchange, triggers: TriggerDesk, parser: OrderParser, views: Views,
                 clock: Clock, new_id: Callable[[], str]) -> None:
        self._exchange = exchange
        self._triggers = triggers
        self._parser = parser
        self._views = views
        self._clock = clock
        self._new_id = new_id

    async def place(self, req: WireRequest) -> dict[str, Any]:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("initial"), dict) \
                or not isinstance(body.get("trigger"), dict):
            raise ParamError("initial", missing=True)
        initial, trigger = Fields(body["initial"]), Fields(body["trigger"])
        symbol = self._parser.symbol(initial.text("contract"))
        market = self._views.symbols.market(symbol)
        assert market is not None
        signed = self._parser.size(initial, symbol)
        close = initial.boolean("close") or initial.text("auto_size") in ("close_long", "close_short")
        order_type = str(body.get("order_type") or "")
        if signed == 0 and not close:
            raise gate_error("INVALID_PARAM_VALUE", "Invalid parameter value: initial.size")
        side = (Side.BUY if signed > 0 else Side.SELL) if signed else \
            (Side.BUY if "short" in order_type or initial.text("auto_size") == "close_short" else Side.SELL)
        price = initial.decimal("price", required=True)
        trigger_price = trigger.decimal("price", required=True)
        assert price is not None and trigger_price is not None
        price_type = trigger.integer("price_type", 0)
        rule = trigger.integer("rule")
        if price_type not in (spec.PRICE_TYPE_LAST, spec.PRICE_TYPE_MARK):
            raise gate_error("INVALID_PARAM_VALUE", "Invalid parameter value: trigger.price_type (the pmm Gate "
                                                    "simulator fires on the last (0) or mark (1) price)")
        if rule not in (spec.TRIGGER_RULE_RISES, spec.TRIGGER_RULE_FALLS):
            raise ParamError("trigger.rule")
        text = initial.text("text") or ""
        position_side = PositionSide.BOTH
        if self._exchange.position_mode() is PositionMode.HEDGE:
            position_side = PositionSide.LONG if side is Side.SELL else PositionSide.SHORT
        order = TriggerOrder(algo_id=self._new_id(), client_id=text, market=market, side=side,
                             trigger_price=trigger_price, trigger_on=TriggerOn.MARK if price_type else TriggerOn.LAST,
                             rising=rule == spec.TRIGGER_RULE_RISES, qty=abs(signed) if signed else None,
                             order_price=price if price > 0 else None, position_side=position_side,
                             reduce_only=initial.boolean("reduce_only") or close)
        order.extra["order_type"] = order_type
        self._triggers.add(order)
        return {"id": int(order.algo_id)}

    def _find(self, req: WireRequest) -> TriggerOrder:
        found = self._triggers.by_id.get(last_segment(req))
        if found is None:
            raise gate_error("ORDER_NOT_FOUND")
        return found

    async def one(self, req: WireRequest) -> dict[str, Any]:
        return self._views.price_order(self._find(req))

    async def cancel(self, req: WireRequest) -> dict[str, Any]:
        found = self._find(req)
        if found.state is not TriggerState.LIVE:
            raise gate_error("ORDER_FINISHED")
        self._triggers.cancel([found])
        return self._views.price_order(found)

    async def listed(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        status = fields.required("status")
        if status not in ("open", "finished"):
            raise ParamError("status")
        contract = fields.text("contract")
        rows = [t for t in reversed(list(self._triggers.by_id.values()))
                if (t.state is TriggerState.LIVE) == (status == "open")
                and (contract is None or self._views.symbols.symbol(t.market) == contract)]
        return [self._views.price_order(t) for t in paged(rows, fields)]

    async def cancel_all(self, req: WireRequest) -> list[dict[str, Any]]:
        contract = req.fields().text("contract")
        live = [t for t in self._triggers.live()
                if contract is None or self._views.symbols.symbol(t.market) == contract]
        return [self._views.price_order(t) for t in self._triggers.cancel(live)]
