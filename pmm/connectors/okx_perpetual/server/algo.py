"""Algo-order endpoints of the OKX server: `order-algo`, `cancel-algos`, `orders-algo-pending` and
`orders-algo-history`, for conditional stops (docs-v5 "Algo trading", ordType `conditional`).

One conditional order carries a stop-loss (`slTriggerPx`, `slOrdPx`) or a take-profit
(`tpTriggerPx`, `tpOrdPx`); an order price of -1 means a market order when it fires. The trigger
follows the last price (default) or the mark price (`slTriggerPxType` / `tpTriggerPxType`).
`closeFraction` "1" closes the whole position (net mode: with `reduceOnly` true) instead of `sz`
contracts. A trigger already crossed at placement is refused as OKX refuses it (51277-51280 on
the last price, 51300-51304 on the mark). Stop-loss plus take-profit in one order, `oco` and the
other algo types are refused with 51000 (not served by the simulator). The server fires the order
itself when the simulated price crosses (`common/server/triggers.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import Fields, ParamError, WireError, WireRequest
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error
from pmm.connectors.okx_perpetual.server.orders_in import OrderParser
from pmm.connectors.okx_perpetual.server.queries import page
from pmm.connectors.okx_perpetual.server.views import Views
from pmm.connectors.okx_perpetual.server.wire import Body, side_in
from pmm.core.clock import Clock
from pmm.core.model import PositionSide, Side
from pmm.sim.exchange import SimExchange

_ARCHIVE_MS = 92 * 24 * 3600 * 1000
# (take-profit?, buy?, on mark?) -> the code of a trigger already on the wrong side of the price.
_WRONG_SIDE = {(True, True, False): 51277, (False, True, False): 51278, (True, False, False): 51279,
               (False, False, False): 51280, (True, True, True): 51300, (False, True, True): 51302,
               (True, False, True): 51303, (False, False, True): 51304}
_STATES = {"live": TriggerState.LIVE, "effective": TriggerState.TRIGGERED, "canceled": TriggerState.CANCELED,
           "order_failed": TriggerState.FAILED}


class AlgoHandlers:
    """Conditional orders over the trigger desk."""

    def __init__(self, exchange: SimExchange, triggers: TriggerDesk, parser: OrderParser, views: Views,
                 clock: Clock, new_algo_id: Callable[[], str], last_price: Callable[[str], Decimal | None]) -> None:
        self._exchange = exchange
        self._triggers = triggers
        self._parser = parser
        self._views = views
        self._clock = clock
        self._new_algo_id = new_algo_id
        self._last_price = last_price

    async def place(self, req: WireRequest) -> list[dict[str, Any]] | Body:
        fields = req.fields()
        client_id = fields.text("algoClOrdId") or ""
        try:
            trigger = self._parse(fields, client_id)
        except (WireError, ParamError) as err:
            code, msg = (err.code, err.msg) if isinstance(err, WireError) else (51000, f"Parameter {err.name} error")
            return Body(code="1", msg="All operations failed", data=[
                {"algoClOrdId": client_id, "algoId": "", "clOrdId": "", "sCode": str(code), "sMsg": msg,
                 "tag": fields.text("tag") or ""}])
        self._triggers.add(trigger)
        return [{"algoClOrdId": client_id, "algoId": trigger.algo_id, "clOrdId": "", "sCode": "0", "sMsg": "",
                 "tag": trigger.extra.get("tag", "")}]

    def _parse(self, fields: Fields, client_id: str) -> TriggerOrder:
        symbol = self._parser.symbol(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        ord_type = fields.required("ordType")
        side = side_in(fields.required("side"))
        if side is None:
            raise ParamError("side")
        if ord_type != "conditional":
            raise okx_error(51000, f"Parameter ordType error: the pmm OKX simulator serves conditional algo "
                                   f"orders only, not {ord_type}")
        stop, take = fields.text("slTriggerPx"), fields.text("tpTriggerPx")
        if (stop is None) == (take is None):
            raise okx_error(51000, "Parameter slTriggerPx error: give one of slTriggerPx and tpTriggerPx (the "
                                   "pmm OKX simulator serves one trigger per conditional order)")
        kind = "sl" if stop is not None else "tp"
        trigger_px = fields.decimal(f"{kind}TriggerPx")
        order_px = fields.decimal(f"{kind}OrdPx", required=True)
        assert trigger_px is not None and order_px is not None
        on_text = fields.choice(f"{kind}TriggerPxType", ("last", "mark", "index"), "last")
        if on_text == "index":
            raise ParamError(f"{kind}TriggerPxType")
        on = TriggerOn.MARK if on_text == "mark" else TriggerOn.LAST
        whole = fields.text("closeFraction") == "1"
        qty = None if whole else self._parser.contracts(fields, symbol)
        position_side = self._parser.position_side(fields)
        reduce_only = fields.boolean("reduceOnly") or position_side is not PositionSide.BOTH
        if whole and not reduce_only:
            raise ParamError("reduceOnly")
        rising = (kind == "sl") == (side is Side.BUY)
        reference = self._reference(market, on)
        if reference is not None and (reference >= trigger_px if rising else reference <= trigger_px):
            raise okx_error(_WRONG_SIDE[(kind == "tp", side is Side.BUY, on is TriggerOn.MARK)])
        trigger = TriggerOrder(algo_id=self._new_algo_id(), client_id=client_id, market=market, side=side,
                               trigger_price=trigger_px, trigger_on=on, rising=rising, qty=qty,
                               order_price=None if order_px == -1 else order_px, position_side=position_side,
                               reduce_only=reduce_only)
        trigger.extra.update(kind=kind, tag=fields.text("tag") or "", tdMode=fields.text("tdMode") or "cross")
        return trigger

    def _reference(self, market: str, on: TriggerOn) -> Decimal | None:
        if on is TriggerOn.LAST:
            return self._last_price(market)
        marks = self._views.mark_index(market)
        return marks[0] if marks else None

    async def cancel(self, req: WireRequest) -> Body:
        items = []
        for fields in req.items():
            algo_id = fields.required("algoId")
            trigger = self._triggers.by_id.get(algo_id)
            ok = trigger is not None and bool(self._triggers.cancel([trigger]))
            items.append({"algoClOrdId": "", "algoId": algo_id, "clOrdId": "", "sCode": "0" if ok else "51400",
                          "sMsg": "" if ok else "Cancellation failed as the order has been filled, canceled or "
                                                "does not exist.", "tag": ""})
        done = sum(1 for item in items if item["sCode"] == "0")
        code = "0" if done == len(items) else ("1" if done == 0 else "2")
        return Body(code=code, msg="" if code == "0" else "All operations failed" if code == "1"
                    else "Bulk operation partially succeeded.", data=items)

    def _list(self, fields: Fields, states: tuple[TriggerState, ...]) -> list[dict[str, Any]]:
        ord_type = fields.required("ordType")
        if "conditional" not in ord_type.split(",") or fields.text("instType") not in (None, spec.INST_TYPE):
            return []
        algo_id, inst_id = fields.text("algoId"), fields.text("instId")
        rows = [t for t in reversed(self._triggers.by_id.values()) if t.state in states
                and (algo_id is None or t.algo_id == algo_id)
                and (inst_id is None or spec.to_venue_symbol(t.market) == inst_id)]
        chosen = page(rows, fields, lambda t: t.algo_id, lambda t: ms(t.created), ms(self._clock.now()),
                      _ARCHIVE_MS)
        return [self._views.algo(t) for t in chosen]

    async def pending(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._list(req.fields(), (TriggerState.LIVE,))

    async def history(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        state = fields.text("state")
        if state is None and fields.text("algoId") is None:
            raise okx_error(50015, param0="state", param1="algoId")
        if state is not None and state not in _STATES:
            raise ParamError("state")
        states = (_STATES[state],) if state is not None else tuple(TriggerState)
        return self._list(fields, states)
