"""Order endpoints of the KuCoin server: place (orders and stop orders), cancel by id or clientOid,
cancel all (v1 and v3), cancel all stops, and the order, stop-order and fill lists.

Place (`POST /api/v1/orders`): `clientOid` (required, at most 40 of `[A-Za-z0-9_-]`, unique among
live orders), `symbol`, `side`, `type` limit (default) | market, `price` (limit), `size` in lots (or
`qty` in the base asset), `timeInForce` GTC | IOC, `postOnly`, `reduceOnly`, `closeOrder` (close the
whole position), `leverage`, `marginMode` (must be the symbol's margin mode, else 330005; absent
means the symbol's mode), `positionSide` (hedge mode: LONG / SHORT, required, else 330012). A stop
order adds `stop` down | up, `stopPrice` and `stopPriceType` TP (last) | MP (mark); IP (index) is
refused. The answer is `{orderId, clientOid}`; the order's life comes on the private stream. A
post-only order that would take, or a market order with nothing to take, is accepted and then
cancelled (its push is `canceled` without an `open`); other refusals answer KuCoin's code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, Tif
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.dialect import kucoin_error
from pmm.connectors.kucoin_perpetual.server.views import Views, margin_wire
from pmm.connectors.kucoin_perpetual.server.wire import KucoinSymbols, side_in
from pmm.core.clock import Clock
from pmm.core.model import PositionMode, PositionSide, Side
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Simulator refusal code -> KuCoin code; None: accepted, then cancelled at once with that cause.
REJECTIONS: dict[str, tuple[int | None, Cause]] = {
    "unknown_market": (100011, Cause.NONE), "duplicate_client_id": (300012, Cause.NONE),
    "invalid_amount": (400100, Cause.NONE), "off_step": (400100, Cause.NONE), "invalid_price": (400100, Cause.NONE),
    "off_tick": (400100, Cause.NONE), "position_side_mismatch": (330012, Cause.NONE),
    "below_min_size": (300011, Cause.NONE), "below_min_notional": (300011, Cause.NONE),
    "reduce_only_rejected": (300009, Cause.NONE), "insufficient_margin": (300003, Cause.NONE),
    "no_liquidity": (None, Cause.UNFILLED), "post_only_would_cross": (None, Cause.POST_ONLY_CROSS),
}
_STOP_ON = {spec.STOP_PRICE_LAST: TriggerOn.LAST, spec.STOP_PRICE_MARK: TriggerOn.MARK}


def _page(rows: list[Any], fields: Fields) -> dict[str, Any]:
    page = max(1, fields.integer("currentPage", 1) or 1)
    size = min(1000, max(1, fields.integer("pageSize", 50) or 50))
    total = len(rows)
    return {"currentPage": page, "pageSize": size, "totalNum": total, "totalPage": (total + size - 1) // size,
            "items": rows[(page - 1) * size:page * size]}


class OrderHandlers:
    def __init__(self, exchange: SimExchange, symbols: KucoinSymbols, desk: OrderDesk, triggers: TriggerDesk,
                 ledger: Ledger, views: Views, faults: KitFaults, clock: Clock, new_order_id: Callable[[], str],
                 last_price: Callable[[str], Decimal | None]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._triggers = triggers
        self._ledger = ledger
        self._views = views
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id
        self._last_price = last_price

    def _market(self, symbol: str | None) -> str:
        market = self._symbols.market(symbol or "")
        if market is None:
            raise kucoin_error(100011)
        return market

    # --- place ----------------------------------------------------------------------------------

    async def place(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        client_oid = fields.required("clientOid")
        if not _CLIENT_OID.match(client_oid):
            raise ParamError("clientOid")
        symbol = fields.required("symbol")
        market = self._market(symbol)
        side = side_in(fields.required("side"))
        if side is None:
            raise ParamError("side")
        kind = fields.choice("type", ("limit", "market"), "limit")
        price = fields.decimal("price", required=kind == "limit") if kind == "limit" else None
        if price is not None and price <= 0:
            raise ParamError("price")
        close_all = fields.boolean("closeOrder")
        qty = None if close_all and "size" not in fields and "qty" not in fields else self._qty(fields, symbol)
        position_side = self._position_side(fields)
        reduce_only = fields.boolean("reduceOnly") or close_all
        self._check_margin(fields, market)
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise kucoin_error(rejection)
        if "stop" in fields:
            return self._place_stop(fields, client_oid, market, side, price, qty, position_side)
        if self._desk.live_client_id(client_oid):
            raise kucoin_error(300012)
        if qty is None:
            qty = self._position_amount(market, side, position_side)
            if qty <= 0:
                raise kucoin_error(300009)
        tif = Tif.IOC if kind == "market" or fields.text("timeInForce") == "IOC" else Tif.GTC
        if fields.boolean("postOnly"):
            tif = Tif.POST_ONLY
        order = DeskOrder(order_id=self._new_order_id(), client_id=client_oid, market=market, side=side, tif=tif,
                          price=price, qty=qty, position_side=position_side, reduce_only=reduce_only)
        order.extra.update(marginMode=margin_wire(self._exchange.margin_mode(market)), closeOrder=close_all,
                           leverage=str(fields.integer("leverage") or self._exchange.leverage(market)))
        await self._desk.place([order])
        if order.rejection is not None:
            code, cause = REJECTIONS.get(order.rejection.code or "", (400100, Cause.NONE))
            if code is not None:
                raise kucoin_error(code)
            self._desk.close_refused(order, cause)
        return {"orderId": order.order_id, "clientOid": client_oid}

    def _qty(self, fields: Fields, symbol: str) -> Decimal:
        if "size" in fields:
            lots = fields.decimal("size", required=True)
            assert lots is not None
            if lots <= 0 or lots != lots.to_integral_value():
                raise kucoin_error(400100, "Order size increment invalid.")
            return self._symbols.base(symbol, lots)
        qty = fields.decimal("qty")
        if qty is None:
            raise ParamError("size", missing=True)
        if qty <= 0:
            raise ParamError("qty")
        return qty

    def _position_side(self, fields: Fields) -> PositionSide:
        text = fields.choice("positionSide", ("BOTH", "LONG", "SHORT"), None)
        hedge = self._exchange.position_mode() is PositionMode.HEDGE
        if hedge and text not in ("LONG", "SHORT"):
            raise kucoin_error(330012)
        if not hedge and text not in (None, "BOTH"):
            raise kucoin_error(330012)
        return {"LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT}.get(text or "", PositionSide.BOTH)

    def _check_margin(self, fields: Fields, market: str) -> None:
        mode = fields.choice("marginMode", (spec.MARGIN_CROSS, spec.MARGIN_ISOLATED), None)
        current = margin_wire(self._exchange.margin_mode(market))
        if mode is not None and mode != current:
            raise kucoin_error(330005)
        leverage = fields.integer("leverage")
        if leverage is not None and current == spec.MARGIN_ISOLATED and leverage != self._exchange.leverage(market):
            if not 1 <= leverage <= self._symbols.grid(self._symbols.symbol(market)).rules.max_leverage:
                raise kucoin_error(330008)
            try:  # an isolated order is margined at the leverage it names
                self._exchange.set_leverage(market, leverage)
            except VenueSetupError:
                pass  # the position's leverage stays; KuCoin margins the order at it

    def _position_amount(self, market: str, side: Side, position_side: PositionSide) -> Decimal:
        closes = position_side if position_side is not PositionSide.BOTH else (
            PositionSide.SHORT if side is Side.BUY else PositionSide.LONG)
        return sum((p.amount for p in self._exchange.positions() if p.market == market and p.side is closes),
                   Decimal(0))

    def _place_stop(self, fields: Fields, client_oid: str, market: str, side: Side, price: Decimal | None,
                    qty: Decimal | None, position_side: PositionSide) -> dict[str, Any]:
        direction = fields.choice("stop", ("down", "up"))
        stop_price = fields.decimal("stopPrice", required=True)
        on_text = fields.choice("stopPriceType", ("TP", "MP", "IP"), spec.STOP_PRICE_LAST)
        if on_text == spec.STOP_PRICE_INDEX:
            raise kucoin_error(400100, "stopPriceType IP (index price) is not served by the pmm KuCoin simulator.")
        assert stop_price is not None and on_text is not None
        on = _STOP_ON[on_text]
        rising = direction == "up"
        reference = self._last_price(market) if on is TriggerOn.LAST else (
            info.mark_price if (info := self._views.mark(market)) is not None else None)
        if reference is not None and (reference >= stop_price if rising else reference <= stop_price):
            raise kucoin_error(400100, f"The stop price {stop_price} is already reached ({on_text} {reference}).")
        trigger = TriggerOrder(algo_id=self._new_order_id(), client_id=client_oid, market=market, side=side,
                               trigger_price=stop_price, trigger_on=on, rising=rising, qty=qty, order_price=price,
                               position_side=position_side,
                               reduce_only=fields.boolean("reduceOnly") or fields.boolean("closeOrder")
                               or position_side is not PositionSide.BOTH)
        trigger.extra["marginMode"] = margin_wire(self._exchange.margin_mode(market))
        self._triggers.add(trigger)
        return {"orderId": trigger.algo_id, "clientOid": client_oid}

    # --- cancel ---------------------------------------------------------------------------------

    def _stop_by(self, order_id: str | None, client_oid: str | None) -> TriggerOrder | None:
        for t in self._triggers.by_id.values():
            if t.state is TriggerState.LIVE and (t.algo_id == order_id or (client_oid and t.client_id == client_oid)):
                return t
        return None

    async def cancel_by_id(self, req: WireRequest) -> dict[str, Any]:
        order_id = req.path.rsplit("/", 1)[-1]
        stop = self._stop_by(order_id, None)
        if stop is not None:
            self._triggers.cancel([stop])
            return {"cancelledOrderIds": [order_id]}
        order = self._desk.by_id.get(order_id)
        if order is None or not order.is_open:
            raise kucoin_error(100004)
        await self._desk.cancel([order])
        if not order.is_done or order.cause is not Cause.USER:
            raise kucoin_error(100004)
        return {"cancelledOrderIds": [order_id]}

    async def cancel_by_client_oid(self, req: WireRequest) -> dict[str, Any]:
        client_oid = req.path.rsplit("/", 1)[-1]
        symbol = req.query_params.get("symbol")
        stop = self._stop_by(None, client_oid)
        if stop is not None and (symbol is None or self._symbols.symbol(stop.market) == symbol):
            self._triggers.cancel([stop])
            return {"clientOid": client_oid}
        order = self._desk.by_client.get(client_oid)
        if order is None or not order.is_open or (symbol is not None and self._symbols.symbol(order.market) != symbol):
            raise kucoin_error(100004)
        await self._desk.cancel([order])
        if not order.is_done or order.cause is not Cause.USER:
            raise kucoin_error(100004)
        return {"clientOid": client_oid}

    async def cancel_all(self, req: WireRequest) -> dict[str, Any]:
        symbol = req.query_params.get("symbol")
        market = self._market(symbol) if symbol else None
        orders = self._desk.open_orders(market)
        await self._desk.cancel(orders)
        return {"cancelledOrderIds": [o.order_id for o in orders if o.cause is Cause.USER and o.is_done]}

    async def cancel_all_stops(self, req: WireRequest) -> dict[str, Any]:
        symbol = req.query_params.get("symbol")
        market = self._market(symbol) if symbol else None
        return {"cancelledOrderIds": [t.algo_id for t in self._triggers.cancel(self._triggers.live(market))]}

    # --- reads ----------------------------------------------------------------------------------

    async def orders(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        status = fields.choice("status", ("active", "done"), None)
        symbol = fields.text("symbol")
        rows = [o for o in reversed(self._desk.orders()) if o.rejection is None
                and (symbol is None or self._symbols.symbol(o.market) == symbol)
                and (status is None or (status == "active") == (o.is_open or o.state.value == "pending"))]
        return _page([self._views.order(o) for o in rows], fields)

    async def order_by_id(self, req: WireRequest) -> dict[str, Any]:
        order_id = req.path.rsplit("/", 1)[-1]
        stop = self._triggers.by_id.get(order_id)
        if stop is not None:
            return self._views.stop(stop)
        order = self._desk.by_id.get(order_id)
        if order is None or order.rejection is not None:
            raise kucoin_error(100001)
        return self._views.order(order)

    async def order_by_client_oid(self, req: WireRequest) -> dict[str, Any]:
        client_oid = req.query_params.get("clientOid") or req.path.rsplit("/", 1)[-1]
        order = self._desk.by_client.get(client_oid)
        if order is None or order.rejection is not None:
            raise kucoin_error(100001)
        return self._views.order(order)

    async def stop_orders(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = fields.text("symbol")
        rows = [t for t in reversed(self._triggers.by_id.values()) if t.state is TriggerState.LIVE
                and (symbol is None or self._symbols.symbol(t.market) == symbol)]
        return _page([self._views.stop(t) for t in rows], fields)

    async def fills(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol, order_id = fields.text("symbol"), fields.text("orderId")
        start, end = fields.integer("startAt"), fields.integer("endAt")
        rows = [b for b in reversed(self._ledger.fills())
                if (symbol is None or self._symbols.symbol(b.market) == symbol)
                and (order_id is None or (b.order is not None and b.order.order_id == order_id))
                and (start is None or ms(b.ts) >= start) and (end is None or ms(b.ts) <= end)]
        return _page([self._views.fill(b) for b in rows], fields)

    async def recent_fills(self, req: WireRequest) -> list[dict[str, Any]]:
        return [self._views.fill(b) for b in reversed(self._ledger.fills()[-1000:])]
