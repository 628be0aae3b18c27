"""Order endpoints of the Binance server: new / query / cancel order, cancel all, open orders, over
the kit's order desk (`common/server/order_desk.py`: time in force, post-only, reduce-only over the
simulator).

Binance answers POST /fapi/v1/order synchronously: a new order is checked for Binance's parameter
rules, placed through the desk (which lets the simulator reach the moment the request arrives), and
the answer is read from the outcome: a refusal becomes the Binance error from the one code table
(codes.REJECTION_CODES), an order still unanswered is -1007 (outcome unknown). FOK is checked
against the book first (-5021), as Binance refuses it rather than accepting and expiring it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, missing, rejection_error
from pmm.connectors.binance_perpetual.server.faults import FaultInjector
from pmm.connectors.binance_perpetual.server.market import optional_symbol, symbol_param
from pmm.connectors.binance_perpetual.server.orders import BinanceOrders
from pmm.connectors.binance_perpetual.server.wire import SymbolMap, position_side_in, side_in
from pmm.connectors.common.numbers import ms, plain
from pmm.connectors.common.server.desk_order import DeskOrder, State, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.model import PositionMode
from pmm.sim.exchange import SimExchange

_CLIENT_ID = re.compile(c.CLIENT_ORDER_ID_PATTERN)
_ALGO_TYPES = (c.ORDER_TYPE_STOP_MARKET, c.ORDER_TYPE_STOP, c.ORDER_TYPE_TAKE_PROFIT_MARKET, c.ORDER_TYPE_TAKE_PROFIT,
               "TRAILING_STOP_MARKET")
_LIMIT_TIFS = {c.TIF_GTC: Tif.GTC, c.TIF_IOC: Tif.IOC, c.TIF_FOK: Tif.FOK, c.TIF_GTX: Tif.POST_ONLY}
_CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


class TradeHandlers:
    """Order placement, cancellation and queries over the order desk."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, orders: BinanceOrders, driver: SimDriver,
                 faults: FaultInjector, new_order_id: Callable[[], str]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._orders = orders
        self._desk: OrderDesk = orders.desk
        self._driver = driver
        self._faults = faults
        self._new_order_id = new_order_id

    # --- new order ------------------------------------------------------------------------------

    async def new_order(self, params: RawParams) -> Any:
        order, resp_type = self._parse_order(params)
        grid = self._symbols.grid(self._orders.symbol(order))
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise api_error(rejection, notional=plain(grid.rules.min_notional))
        if order.tif is Tif.FOK and not self._desk.fill_or_kill_possible(order):
            raise api_error(E.FOK_ORDER_REJECT)
        await self._desk.place([order])
        if order.rejection is not None:
            raise rejection_error(order.rejection.code, amount=order.qty, qty_places=grid.qty_places,
                                  min_notional=grid.rules.min_notional)
        if order.state is State.PENDING:
            raise BinanceApiError(-1007, "Timeout waiting for response from backend server. Send status unknown; "
                                         "execution status unknown.", 408)
        if resp_type == c.RESP_TYPE_ACK:
            return order.extra["ack"]
        if order.tif in (Tif.IOC, Tif.FOK) and order.is_open:
            await self._driver.settle()  # the remainder's expiry travels like any cancel
        return self._orders.view(order)

    def _parse_order(self, params: RawParams) -> tuple[DeskOrder, str]:
        symbol = symbol_param(params, self._symbols)
        market = self._symbols.market(symbol)
        assert market is not None
        side = side_in(params.get("side") or "")
        if side is None:
            raise api_error(E.INVALID_SIDE)
        order_type = (params.get("type") or "").upper()
        if order_type in _ALGO_TYPES:
            raise api_error(c.ERR_STOP_ORDER_SWITCH_ALGO)  # Binance moved them to /fapi/v1/algoOrder
        if order_type not in (c.ORDER_TYPE_LIMIT, c.ORDER_TYPE_MARKET):
            raise api_error(E.INVALID_ORDER_TYPE)
        qty = params.decimal("quantity")
        tif = (params.get("timeInForce") or "").upper()
        price: Decimal | None = None
        if order_type == c.ORDER_TYPE_LIMIT:
            if not tif:
                raise missing("timeInForce")
            if tif not in _LIMIT_TIFS:
                raise api_error(E.INVALID_TIF)
            price = params.decimal("price")
        else:
            if params.get("price") is not None:
                raise api_error(c.ERR_PARAM_NOT_REQUIRED, param="price")
            tif = c.TIF_GTC
        if (params.get("priceMatch") or "NONE").upper() != "NONE":
            raise api_error(c.ERR_INVALID_PRICE_MATCH)  # the simulator has no price matching
        reduce_only = params.flag("reduceOnly") or False
        position_side = position_side_in(params.get("positionSide") or c.POSITION_SIDE_BOTH)
        if position_side is None:
            raise api_error(E.INVALID_POSITION_SIDE)
        if reduce_only and self._exchange.position_mode() is PositionMode.HEDGE:
            raise api_error(c.ERR_PARAM_NOT_REQUIRED, param="reduceOnly")
        resp_type = (params.get("newOrderRespType") or c.RESP_TYPE_ACK).upper()
        if resp_type not in (c.RESP_TYPE_ACK, c.RESP_TYPE_RESULT):
            raise api_error(c.ERR_INVALID_NEW_ORDER_RESP_TYPE)
        client_id = params.get("newClientOrderId") or secrets.token_hex(11)
        if not _CLIENT_ID.match(client_id):
            raise api_error(E.INVALID_CL_ORD_ID_LEN)
        if self._desk.live_client_id(client_id):
            raise api_error(E.DUPLICATED_CLIENT_ORDER_ID)
        order = DeskOrder(order_id=self._new_order_id(), client_id=client_id, market=market, side=side,
                          tif=_LIMIT_TIFS[tif], price=price, qty=qty, position_side=position_side,
                          reduce_only=reduce_only)
        return order, resp_type

    # --- cancel and queries ---------------------------------------------------------------------

    def _find(self, params: RawParams, client_param: str = "origClientOrderId") -> DeskOrder | None:
        symbol = symbol_param(params, self._symbols)
        order_id, client_id = params.integer("orderId"), params.get(client_param)
        if order_id is None and client_id is None:
            raise BinanceApiError(
                E.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
                f"Param 'orderId' or '{client_param}' must be sent, but both were empty/null!",
            )
        order = self._orders.find(order_id, client_id)
        return order if order is not None and self._orders.symbol(order) == symbol else None

    async def cancel_order(self, params: RawParams) -> Any:
        order = self._find(params)
        if order is None or not order.is_open:
            raise api_error(E.CANCEL_REJECTED)
        await self._desk.cancel([order])
        if order.state is not State.CANCELED:
            raise api_error(E.CANCEL_REJECTED)  # it filled (or expired) before the cancel arrived
        return self._orders.view(order)

    async def cancel_all(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        await self._desk.cancel(self._orders.open_orders(symbol))
        return dict(_CANCEL_ALL_DONE)

    async def query_order(self, params: RawParams) -> Any:
        order = self._find(params)
        if order is None:
            raise api_error(E.NO_SUCH_ORDER)
        return self._orders.view(order, with_time=True)

    async def open_order(self, params: RawParams) -> Any:
        order = self._find(params)
        if order is None or not order.is_open:
            raise api_error(E.NO_SUCH_ORDER)
        return self._orders.view(order, with_time=True)

    async def open_orders(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        return [self._orders.view(o, with_time=True) for o in self._orders.open_orders(symbol)]

    async def all_orders(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        order_id = params.integer("orderId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = min(params.integer("limit", 500) or 500, 1000)
        rows = [
            o for o in self._orders.all_orders(symbol)
            if (order_id is None or int(o.order_id) >= order_id)
            and (start is None or ms(o.created) >= start) and (end is None or ms(o.created) <= end)
        ]
        rows = rows[:limit] if order_id is not None or start is not None else rows[-limit:]
        return [self._orders.view(o, with_time=True) for o in rows]
