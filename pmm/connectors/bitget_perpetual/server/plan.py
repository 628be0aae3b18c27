"""Plan-order endpoints of the Bitget server (Bitget "Trigger Order"): `place-plan-order`,
`cancel-plan-order` and `orders-plan-pending`, for conditional stops (`planType` normal_plan).

A plan order carries `triggerPrice`, `triggerType` (mark_price | fill_price), `orderType` (market,
or limit at `price`), `size`, `side` / `tradeSide` / `reduceOnly` as a normal order does. It fires
when the simulated price reaches the trigger from the side it stands on at placement
(`common/server/triggers.py`); a trigger already reached is refused (43034 / 43035). A reduce-only
stop without a position to close fails when it fires, as Bitget's does.

TP/SL orders (`place-tpsl-order`, Bitget "Place Stop-Profit and Stop-Loss Plan Orders"): `planType`
profit_plan / loss_plan (`size` of the position) or pos_profit / pos_loss (the whole position),
`holdSide` the position they close (long / short in hedge mode, buy / sell in one-way mode),
`triggerPrice`, `triggerType`, `executePrice` (0 or absent: market). They need a position on that
side (40837) and a trigger on the profitable / losing side of the price (40830-40836). They are
listed and cancelled with `planType` profit_loss (or their own plan type). Trailing stops
(track_plan, moving_plan) are refused with 40020: not served by the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.dialect import bitget_error
from pmm.connectors.bitget_perpetual.server.orders_in import OrderParser
from pmm.connectors.bitget_perpetual.server.trade import page
from pmm.connectors.bitget_perpetual.server.views import Views
from pmm.connectors.bitget_perpetual.server.wire import lower
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.core.clock import Clock
from pmm.core.model import PositionMode, PositionSide, Side

TPSL_TYPES = ("profit_plan", "loss_plan", "pos_profit", "pos_loss")
PROFIT_LOSS = "profit_loss"  # the listing / cancelling name of every TP/SL type
# (take profit?, long?) -> the code of a TP/SL trigger on the wrong side of the price
_WRONG_SIDE = {(True, True): 40830, (True, False): 40832, (False, True): 40834, (False, False): 40836}


class PlanHandlers:
    """Plan (trigger) orders over the trigger desk."""

    def __init__(self, triggers: TriggerDesk, parser: OrderParser, views: Views, clock: Clock,
                 new_plan_id: Callable[[], str], last_price: Callable[[str], Decimal | None]) -> None:
        self._triggers = triggers
        self._parser = parser
        self._views = views
        self._clock = clock
        self._new_plan_id = new_plan_id
        self._last_price = last_price

    async def place(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        if lower(fields.required("planType")) != spec.PLAN_NORMAL:
            raise bitget_error(40020, msg="Parameter planType error: the pmm Bitget simulator serves normal_plan "
                                          "trigger orders only")
        symbol = self._parser.symbol(fields)
        self._parser.product_type(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        side, position_side, closing = self._parser.sides(fields)
        qty = self._parser.size(fields, symbol)
        trigger_px = fields.decimal("triggerPrice", required=True)
        assert trigger_px is not None
        on_text = lower(fields.required("triggerType"))
        if on_text not in (spec.TRIGGER_MARK, spec.TRIGGER_LAST):
            raise ParamError("triggerType")
        on = TriggerOn.MARK if on_text == spec.TRIGGER_MARK else TriggerOn.LAST
        order_type = lower(fields.required("orderType"))
        if order_type not in ("limit", "market"):
            raise ParamError("orderType")
        price = fields.decimal("price", required=True) if order_type == "limit" else None
        margin = self._parser.margin_mode(fields, market)
        reference = self._reference(market, on)
        if reference is None:
            raise bitget_error(40823, msg="The transaction or reasonable marked price does not exist")
        rising = trigger_px > reference
        if trigger_px == reference:
            raise bitget_error(43035 if side is Side.BUY else 43034)
        trigger = TriggerOrder(algo_id=self._new_plan_id(), client_id=fields.text("clientOid") or "", market=market,
                               side=side, trigger_price=trigger_px, trigger_on=on, rising=rising, qty=qty,
                               order_price=price, position_side=position_side,
                               reduce_only=closing)
        trigger.extra.update(marginMode=margin, planType=spec.PLAN_NORMAL)
        self._triggers.add(trigger)
        return {"orderId": trigger.algo_id, "clientOid": trigger.client_id}

    async def place_tpsl(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        plan_type = lower(fields.required("planType"))
        if plan_type not in TPSL_TYPES:
            raise bitget_error(40020, msg=f"Parameter planType error: the pmm Bitget simulator serves "
                                          f"{', '.join(TPSL_TYPES)} TP/SL orders, not {plan_type}")
        symbol = self._parser.symbol(fields)
        self._parser.product_type(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        hold = lower(fields.required("holdSide"))
        if hold not in ("long", "short", "buy", "sell"):
            raise ParamError("holdSide")
        closes = PositionSide.LONG if hold in ("long", "buy") else PositionSide.SHORT
        held = sum((p.amount for p in self._exchange_positions() if p.market == market and p.side is closes),
                   Decimal(0))
        if not held:
            raise bitget_error(40837)
        whole = plan_type.startswith("pos_")
        qty = None if whole else self._parser.size(fields, symbol)
        trigger_px = fields.decimal("triggerPrice", required=True)
        assert trigger_px is not None
        on_text = lower(fields.text("triggerType")) or spec.TRIGGER_LAST
        if on_text not in (spec.TRIGGER_MARK, spec.TRIGGER_LAST):
            raise ParamError("triggerType")
        on = TriggerOn.MARK if on_text == spec.TRIGGER_MARK else TriggerOn.LAST
        execute = fields.decimal("executePrice")
        profit = plan_type in ("profit_plan", "pos_profit")
        rising = profit == (closes is PositionSide.LONG)
        reference = self._reference(market, on)
        if reference is not None and (reference >= trigger_px if rising else reference <= trigger_px):
            raise bitget_error(_WRONG_SIDE[(profit, closes is PositionSide.LONG)])
        hedge = self._views.mode() is PositionMode.HEDGE
        trigger = TriggerOrder(algo_id=self._new_plan_id(), client_id=fields.text("clientOid") or "", market=market,
                               side=Side.SELL if closes is PositionSide.LONG else Side.BUY, trigger_price=trigger_px,
                               trigger_on=on, rising=rising, qty=qty, order_price=execute or None,
                               position_side=closes if hedge else PositionSide.BOTH, reduce_only=True)
        trigger.extra.update(planType=plan_type)
        self._triggers.add(trigger)
        return {"orderId": trigger.algo_id, "clientOid": trigger.client_id}

    def _exchange_positions(self) -> list[Any]:
        return self._views.open_positions()

    @staticmethod
    def _plan_matches(trigger: TriggerOrder, plan_type: str) -> bool:
        kind = trigger.extra.get("planType", spec.PLAN_NORMAL)
        return kind == plan_type or (plan_type == PROFIT_LOSS and kind in TPSL_TYPES)

    def _reference(self, market: str, on: TriggerOn) -> Decimal | None:
        if on is TriggerOn.LAST:
            return self._last_price(market)
        marks = self._views.mark_index(market)
        return marks[0] if marks else None

    def _find(self, item: Fields, symbol: str | None) -> TriggerOrder | None:
        order_id, client_id = item.text("orderId"), item.text("clientOid")
        for trigger in self._triggers.by_id.values():
            if (order_id is not None and trigger.algo_id == order_id) or (
                    order_id is None and client_id is not None and trigger.client_id == client_id):
                if symbol is None or self._views.symbols.symbol(trigger.market) == symbol:
                    return trigger
        return None

    async def cancel(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields) if fields.text("symbol") else None
        plan_type = lower(fields.text("planType")) or spec.PLAN_NORMAL
        listed = fields.raw.get("orderIdList")
        items: list[tuple[Fields, TriggerOrder | None]]
        if listed in (None, "", []):
            items = [(Fields({}), t) for t in self._triggers.live() if self._plan_matches(t, plan_type)
                     and (symbol is None or self._views.symbols.symbol(t.market) == symbol)]
        elif isinstance(listed, list) and all(isinstance(i, dict) for i in listed):
            items = [(Fields(i), self._find(Fields(i), symbol)) for i in listed]
        else:
            raise ParamError("orderIdList")
        success, failure = [], []
        for item, trigger in items:
            if trigger is not None and self._triggers.cancel([trigger]):
                success.append({"orderId": trigger.algo_id, "clientOid": trigger.client_id})
            else:
                failure.append({"orderId": item.text("orderId") or "", "clientOid": item.text("clientOid") or "",
                                "errorMsg": "notExistend", "errorCode": "43025"})
        return {"successList": success, "failureList": failure}

    async def pending(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        plan_type = lower(fields.required("planType")) or spec.PLAN_NORMAL
        symbol = fields.text("symbol")
        order_id, client_id = fields.text("orderId"), fields.text("clientOid")
        rows = [t for t in reversed(self._triggers.by_id.values()) if t.state is TriggerState.LIVE
                and self._plan_matches(t, plan_type)
                and (symbol is None or self._views.symbols.symbol(t.market) == symbol.upper())
                and (order_id is None or t.algo_id == order_id) and (client_id is None or t.client_id == client_id)]
        got, end_id = page(rows, fields, lambda t: t.algo_id, lambda t: ms(t.created), ms(self._clock.now()))
        return {"entrustedList": [self._views.plan(t) for t in got] or None, "endId": end_id or None}
