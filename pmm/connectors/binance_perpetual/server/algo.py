"""Conditional orders of the Binance server: Binance's Algo Service (POST / DELETE / GET
/fapi/v1/algoOrder, GET /fapi/v1/openAlgoOrders, DELETE /fapi/v1/algoOpenOrders) over the kit's
trigger engine (`common/server/triggers.py`).

Since 2025-12-09 Binance takes STOP_MARKET / STOP / TAKE_PROFIT_MARKET / TAKE_PROFIT only here
(`algoType=CONDITIONAL`); /fapi/v1/order refuses them with -4120. A stop triggers on the mark price
(`workingType=MARK_PRICE`) or the last price (CONTRACT_PRICE, the default); a STOP buy and a
TAKE_PROFIT sell fire when the price rises to the trigger, the other two when it falls to it. One
that would fire at once is refused (-2021). When it fires, its order goes to the matching engine
under the stop's `clientAlgoId` (a market order, or a GTC limit at `price`), reduce-only when the
stop is, closing the whole position with `closePosition=true`. Open stops are listed by
openAlgoOrders, not openOrders, as on Binance; every change is pushed as an ALGO_UPDATE event.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, invalid, missing
from pmm.connectors.binance_perpetual.server.market import optional_symbol, symbol_param
from pmm.connectors.binance_perpetual.server.orders import visible
from pmm.connectors.binance_perpetual.server.wire import SymbolMap, position_side_in, side_in, side_wire
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import DeskOrder, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.core.clock import Clock
from pmm.core.events import AccountEvent, FundingInfoUpdated, MarketEvent, OrderFilled, Trade
from pmm.core.model import Liquidity, PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange

_TYPES = (c.ORDER_TYPE_STOP_MARKET, c.ORDER_TYPE_STOP, c.ORDER_TYPE_TAKE_PROFIT_MARKET, c.ORDER_TYPE_TAKE_PROFIT)
_LIMIT_TYPES = (c.ORDER_TYPE_STOP, c.ORDER_TYPE_TAKE_PROFIT)
_STATUS = {TriggerState.LIVE: c.ALGO_STATUS_NEW, TriggerState.CANCELED: c.ALGO_STATUS_CANCELED,
           TriggerState.TRIGGERED: c.ALGO_STATUS_TRIGGERED, TriggerState.FAILED: c.ALGO_STATUS_REJECTED}
_CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


class ChildOrders:
    """Places a fired stop's order through the order desk under the stop's `clientAlgoId`, as a GTC
    order (reduce-only on one-way accounts), so it is reported like any order."""

    def __init__(self, exchange: SimExchange, desk: OrderDesk) -> None:
        self._exchange, self._desk = exchange, desk

    async def place(self, orders: Iterable[DeskOrder]) -> None:
        hedge = self._exchange.position_mode() is PositionMode.HEDGE
        children = list(orders)
        for child in children:
            child.client_id, child.tif = child.extra["algo"].client_id, Tif.GTC
            child.reduce_only = child.reduce_only and not hedge
        await self._desk.place(children)


class AlgoOrders:
    """The algo endpoints and the ALGO_UPDATE events (see module docstring)."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: OrderDesk, clock: Clock,
                 publish_user: Callable[[str, dict[str, Any]], None], new_order_id: Callable[[], str]) -> None:
        self._exchange, self._symbols, self._clock, self._publish = exchange, symbols, clock, publish_user
        self._next_id = 1_000_000
        self.triggers = TriggerDesk(ChildOrders(exchange, desk), exchange, clock, new_order_id)
        self.triggers.listen(self._on_trigger)
        self._last: dict[str, Decimal] = {}

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # --- prices (fed by the server with every public event) ---------------------------------------

    def on_public(self, event: MarketEvent) -> None:
        match event:
            case Trade():
                self._last[event.market] = event.price
                self.triggers.on_price(event.market, TriggerOn.LAST, event.price)
            case FundingInfoUpdated():
                self.triggers.on_price(event.info.market, TriggerOn.MARK, event.info.mark_price)
            case _:
                pass

    def on_order_event(self, event: AccountEvent | None, _order: DeskOrder | None) -> None:
        """Our own taker fills are trades of the market too: they move the last price."""
        if isinstance(event, OrderFilled) and event.liquidity is Liquidity.TAKER:
            self._last[event.market] = event.price
            self.triggers.on_price(event.market, TriggerOn.LAST, event.price)

    def _price(self, market: str, on: TriggerOn) -> Decimal:
        mark = self._exchange.funding_info(market).mark_price
        return mark if on is TriggerOn.MARK else self._last.get(market, mark)

    # --- endpoints --------------------------------------------------------------------------------

    async def new_algo_order(self, params: RawParams) -> Any:
        if (params.get("algoType") or "").upper() != c.ALGO_TYPE_CONDITIONAL:
            raise invalid("algoType") if params.get("algoType") else missing("algoType")
        symbol = symbol_param(params, self._symbols)
        market = self._symbols.market(symbol)
        assert market is not None
        side = side_in(params.get("side") or "")
        if side is None:
            raise api_error(E.INVALID_SIDE)
        order_type = (params.get("type") or "").upper()
        if order_type not in _TYPES:
            raise api_error(E.INVALID_ORDER_TYPE)
        trigger_price = params.decimal("triggerPrice")
        close_position = params.flag("closePosition") or False
        qty = None if close_position else params.decimal("quantity")
        price = params.decimal("price") if order_type in _LIMIT_TYPES else None
        working = (params.get("workingType") or c.WORKING_TYPE_CONTRACT).upper()
        if working not in (c.WORKING_TYPE_MARK, c.WORKING_TYPE_CONTRACT):
            raise invalid("workingType")
        position_side = position_side_in(params.get("positionSide") or c.POSITION_SIDE_BOTH)
        if position_side is None:
            raise api_error(E.INVALID_POSITION_SIDE)
        reduce_only = params.flag("reduceOnly") or False
        hedge = self._exchange.position_mode() is PositionMode.HEDGE
        if reduce_only and (hedge or close_position):
            raise api_error(c.ERR_PARAM_NOT_REQUIRED, param="reduceOnly")
        if hedge and position_side is PositionSide.BOTH:
            raise api_error(E.POSITION_SIDE_NOT_MATCH)
        client_id = params.get("clientAlgoId") or secrets.token_hex(11)
        if any(t.client_id == client_id for t in self.triggers.live()):
            raise api_error(E.DUPLICATED_CLIENT_ORDER_ID)
        on = TriggerOn.MARK if working == c.WORKING_TYPE_MARK else TriggerOn.LAST
        rising = (side is Side.BUY) == order_type.startswith("STOP")
        trigger = TriggerOrder(
            algo_id=self._new_id(), client_id=client_id, market=market, side=side, trigger_price=trigger_price,
            trigger_on=on, rising=rising, qty=qty, order_price=price, position_side=position_side,
            reduce_only=reduce_only or close_position or hedge,
            extra={"type": order_type, "working": working, "close": close_position,
                   "ps": position_side.value.upper(), "symbol": symbol,
                   "tif": (params.get("timeInForce") or c.TIF_GTC).upper()})
        now_price = self._price(market, on)
        if trigger.crossed(now_price):
            raise api_error(E.ORDER_WOULD_IMMEDIATELY_TRIGGER)
        self.triggers.add(trigger)
        return self.view(trigger)

    async def cancel_algo_order(self, params: RawParams) -> Any:
        trigger = self._find(params)
        if trigger is None or not self.triggers.cancel([trigger]):
            raise api_error(E.NO_SUCH_ORDER)
        return {"algoId": int(trigger.algo_id), "clientAlgoId": trigger.client_id, "code": "200", "msg": "success"}

    async def query_algo_order(self, params: RawParams) -> Any:
        trigger = self._find(params)
        if trigger is None:
            raise api_error(E.NO_SUCH_ORDER)
        return self.view(trigger)

    async def open_algo_orders(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        market = self._symbols.market(symbol) if symbol is not None else None
        return [self.view(t) for t in self.triggers.live(market)]

    async def cancel_all_algo_orders(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        self.triggers.cancel(self.triggers.live(self._symbols.market(symbol)))
        return dict(_CANCEL_ALL_DONE)

    def _find(self, params: RawParams) -> TriggerOrder | None:
        algo_id, client_id = params.integer("algoId"), params.get("clientAlgoId")
        if algo_id is None and client_id is None:
            raise BinanceApiError(E.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
                                  "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
        if algo_id is not None:
            return self.triggers.by_id.get(str(algo_id))
        found = [t for t in self.triggers.by_id.values() if t.client_id == client_id]
        return found[-1] if found else None

    # --- shapes -----------------------------------------------------------------------------------

    @staticmethod
    def _status(trigger: TriggerOrder) -> str:
        if trigger.state is TriggerState.TRIGGERED and trigger.child is not None and trigger.child.is_done:
            return c.ALGO_STATUS_FINISHED
        return _STATUS[trigger.state]

    @staticmethod
    def _actual_id(trigger: TriggerOrder) -> str:
        """The orderId of the order a fired stop placed, once the matching engine accepted it."""
        return trigger.child.order_id if trigger.child is not None and visible(trigger.child) else ""

    def view(self, trigger: TriggerOrder) -> dict[str, Any]:
        """An algo order as the REST endpoints answer it."""
        grid = self._symbols.grid(trigger.extra["symbol"])
        child = trigger.child
        return {
            "algoId": int(trigger.algo_id), "clientAlgoId": trigger.client_id, "algoType": c.ALGO_TYPE_CONDITIONAL,
            "orderType": trigger.extra["type"], "symbol": trigger.extra["symbol"], "side": side_wire(trigger.side),
            "positionSide": trigger.extra["ps"], "timeInForce": trigger.extra["tif"],
            "quantity": grid.qty(trigger.qty) if trigger.qty is not None else "0",
            "algoStatus": self._status(trigger), "actualOrderId": self._actual_id(trigger),
            "actualPrice": grid.price(child.avg_price) if child and child.avg_price is not None else "0",
            "triggerPrice": grid.price(trigger.trigger_price),
            "price": grid.price(trigger.order_price) if trigger.order_price is not None else "0",
            "icebergQuantity": None, "tpTriggerPrice": "0", "tpPrice": "0", "slTriggerPrice": "0", "slPrice": "0",
            "tpOrderType": "", "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": trigger.extra["working"],
            "priceMatch": "NONE", "closePosition": trigger.extra["close"], "priceProtect": False,
            "reduceOnly": trigger.reduce_only and not trigger.extra["close"], "createTime": ms(trigger.created),
            "updateTime": ms(trigger.updated), "triggerTime": ms(trigger.updated) if child else 0,
            "goodTillDate": 0,
        }

    def _on_trigger(self, trigger: TriggerOrder) -> None:
        """ALGO_UPDATE, as Binance pushes it on every state change of an algo order."""
        grid = self._symbols.grid(trigger.extra["symbol"])
        now = ms(self._clock.now())
        self._publish(c.EVENT_ALGO_UPDATE, {"e": c.EVENT_ALGO_UPDATE, "T": now, "E": now, "o": {
            "caid": trigger.client_id, "aid": int(trigger.algo_id), "at": c.ALGO_TYPE_CONDITIONAL,
            "o": trigger.extra["type"], "s": trigger.extra["symbol"], "S": side_wire(trigger.side),
            "ps": trigger.extra["ps"], "f": trigger.extra["tif"],
            "q": grid.qty(trigger.qty) if trigger.qty is not None else "0", "X": _STATUS[trigger.state],
            "ai": self._actual_id(trigger), "ap": "0.00000", "aq": "0.00000", "act": "0",
            "tp": grid.price(trigger.trigger_price),
            "p": grid.price(trigger.order_price) if trigger.order_price is not None else "0", "V": "EXPIRE_MAKER",
            "wt": trigger.extra["working"], "pm": "NONE", "cp": trigger.extra["close"], "pP": False,
            "R": trigger.reduce_only and not trigger.extra["close"],
            "tt": ms(trigger.updated) if trigger.state is TriggerState.TRIGGERED else 0, "gtd": 0,
            "rm": "" if trigger.state is not TriggerState.FAILED else "Reduce only order rejected",
        }})
