"""Order endpoints of the Binance server: new / query / cancel order, cancel all, open orders.

Binance answers POST /fapi/v1/order synchronously; the simulator answers after its latency with
events. So a new order is checked for Binance's parameter rules, submitted, the simulator is
advanced to the moment the request arrives (`SimDriver.settle`), and the answer is read from the
resulting accept/reject: an OrderRejected becomes the Binance error from the one code table
(server_codes.REJECTION_CODES). IOC is a limit order whose remainder the server expires right after
it took what it could; FOK is checked against the book first (-5021) and then placed as IOC.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, invalid, missing, rejection_error
from pmm.connectors.binance_perpetual.server.faults import FaultInjector
from pmm.connectors.binance_perpetual.server.market import int_param, symbol_param
from pmm.connectors.binance_perpetual.server.orders import OrderDesk, OrderRecord, sim_order_type
from pmm.connectors.binance_perpetual.server.wire import (
    SymbolMap,
    position_side_in,
    side_in,
    side_wire,
)
from pmm.connectors.common.numbers import ms, parse_decimal, plain
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.core.model import ClientOrderId, OrderRequest, PositionAction, PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange

_CLIENT_ID = re.compile(c.CLIENT_ORDER_ID_PATTERN)
_ALGO_TYPES = (c.ORDER_TYPE_STOP_MARKET, c.ORDER_TYPE_STOP, c.ORDER_TYPE_TAKE_PROFIT_MARKET, c.ORDER_TYPE_TAKE_PROFIT,
               "TRAILING_STOP_MARKET")
_LIMIT_TIFS = (c.TIF_GTC, c.TIF_IOC, c.TIF_FOK, c.TIF_GTX)
_CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


def bool_param(params: RawParams, name: str) -> bool | None:
    text = params.get(name)
    if text is None:
        return None
    if text.lower() not in (c.TRUE, c.FALSE):
        raise invalid(name)
    return text.lower() == c.TRUE


class TradeHandlers:
    """Order placement, cancellation and queries over the simulated exchange."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: OrderDesk, driver: SimDriver,
                 faults: FaultInjector, clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._driver = driver
        self._faults = faults
        self._clock = clock

    # --- new order ------------------------------------------------------------------------------

    async def new_order(self, params: RawParams) -> Any:
        record, request, resp_type = self._parse_order(params)
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise api_error(rejection, notional=plain(record.grid.rules.min_notional))
        if record.time_in_force == c.TIF_FOK:
            self._check_fill_or_kill(record)
        self._desk.add_pending(record)
        self._exchange.submit_order(request)
        await self._driver.settle()
        if record.rejection is not None:
            rules = record.grid.rules
            raise rejection_error(record.rejection.code, amount=record.orig_qty, qty_places=record.grid.qty_places,
                                  min_notional=rules.min_notional)
        if not record.answered:
            self._desk.pending.pop(record.client_id, None)
            raise BinanceApiError(-1007, "Timeout waiting for response from backend server. Send status unknown; "
                                         "execution status unknown.", 408)
        if resp_type == c.RESP_TYPE_ACK:
            return record.accepted_view
        if record.time_in_force in (c.TIF_IOC, c.TIF_FOK) and record.is_open:
            await self._driver.settle()  # the remainder's expiry travels like any cancel
        return record.view()

    def _parse_order(self, params: RawParams) -> tuple[OrderRecord, OrderRequest, str]:
        symbol = symbol_param(params, self._symbols)
        assert symbol is not None
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
        qty = self._decimal(params, "quantity")
        tif = (params.get("timeInForce") or "").upper()
        price: Decimal | None = None
        if order_type == c.ORDER_TYPE_LIMIT:
            if not tif:
                raise missing("timeInForce")
            if tif not in _LIMIT_TIFS:
                raise api_error(E.INVALID_TIF)
            price = self._decimal(params, "price")
        else:
            if params.get("price") is not None:
                raise api_error(c.ERR_PARAM_NOT_REQUIRED, param="price")
            tif = c.TIF_GTC
        if (params.get("priceMatch") or "NONE").upper() != "NONE":
            raise api_error(c.ERR_INVALID_PRICE_MATCH)  # the simulator has no price matching
        reduce_only = bool_param(params, "reduceOnly") or False
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
        if client_id in self._desk.pending:
            raise api_error(E.DUPLICATED_CLIENT_ORDER_ID)
        now_ms = ms(self._clock.now())
        record = OrderRecord(
            client_id=client_id, symbol=symbol, market=market, side=side_wire(side),
            order_type=order_type, time_in_force=tif, price=price or Decimal(0), orig_qty=qty,
            reduce_only=reduce_only, position_side=position_side.value.upper(), grid=self._symbols.grid(symbol),
            created_ms=now_ms, update_ms=now_ms,
        )
        closing = reduce_only or (position_side is not PositionSide.BOTH and position_side.closing_side is side)
        request = OrderRequest(
            client_id=ClientOrderId(client_id), market=market, side=side,
            order_type=sim_order_type(order_type, tif), amount=qty, price=price,
            position_action=PositionAction.CLOSE if closing else PositionAction.OPEN,
            position_side=position_side, reduce_only=reduce_only,
        )
        return record, request, resp_type

    @staticmethod
    def _decimal(params: RawParams, name: str) -> Decimal:
        text = params.get(name)
        value = parse_decimal(text) if text is not None else None
        if value is None:
            raise missing(name)
        return value

    def _check_fill_or_kill(self, record: OrderRecord) -> None:
        """FOK: the book must hold the whole quantity at the limit price or better right now."""
        book = self._exchange.book(record.market)
        buy = record.side == c.SIDE_BUY
        available = Decimal(0)
        for price, size in book.iter_levels(Side.SELL if buy else Side.BUY):
            if (price > record.price) if buy else (price < record.price):
                break
            available += size
        if available < record.orig_qty:
            raise api_error(E.FOK_ORDER_REJECT)

    def expire_remainder(self, record: OrderRecord) -> None:
        """An IOC/FOK order keeps nothing on the book: expire what its first match leaves.
        Called by the desk right after the order is accepted (wired in server.py)."""
        if record.order_type == c.ORDER_TYPE_LIMIT and record.time_in_force in (c.TIF_IOC, c.TIF_FOK):
            record.expire_requested = True
            self._exchange.cancel_order(record.market, ClientOrderId(record.client_id))

    # --- cancel and queries ---------------------------------------------------------------------

    def _find(self, params: RawParams, client_param: str = "origClientOrderId") -> tuple[str, OrderRecord | None]:
        symbol = symbol_param(params, self._symbols)
        assert symbol is not None
        order_id, client_id = int_param(params, "orderId"), params.get(client_param)
        if order_id is None and client_id is None:
            raise BinanceApiError(
                E.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
                f"Param 'orderId' or '{client_param}' must be sent, but both were empty/null!",
            )
        record = self._desk.find(order_id, client_id)
        return symbol, record if record is not None and record.symbol == symbol else None

    async def cancel_order(self, params: RawParams) -> Any:
        _, record = self._find(params)
        if record is None or not record.is_open:
            raise api_error(E.CANCEL_REJECTED)
        record.cancel_requested, record.cancel_refused = True, False
        self._exchange.cancel_order(record.market, ClientOrderId(record.client_id))
        await self._driver.settle()
        if record.status != c.STATUS_CANCELED:
            raise api_error(E.CANCEL_REJECTED)  # it filled (or expired) before the cancel arrived
        return record.view()

    async def cancel_all(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        assert symbol is not None
        for record in self._desk.open_orders(symbol):
            record.cancel_requested = True
        market = self._symbols.market(symbol)
        assert market is not None
        self._exchange.cancel_all(market)
        await self._driver.settle()
        return dict(_CANCEL_ALL_DONE)

    async def query_order(self, params: RawParams) -> Any:
        _, record = self._find(params)
        if record is None:
            raise api_error(E.NO_SUCH_ORDER)
        return record.view(with_time=True)

    async def open_order(self, params: RawParams) -> Any:
        _, record = self._find(params)
        if record is None or not record.is_open:
            raise api_error(E.NO_SUCH_ORDER)
        return record.view(with_time=True)

    async def open_orders(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols, required=False)
        return [r.view(with_time=True) for r in self._desk.open_orders(symbol)]

    async def all_orders(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        order_id = int_param(params, "orderId")
        start, end = int_param(params, "startTime"), int_param(params, "endTime")
        limit = min(int_param(params, "limit", 500) or 500, 1000)
        rows = [
            r for r in sorted(self._desk.by_id.values(), key=lambda r: r.order_id or 0)
            if r.symbol == symbol and (order_id is None or (r.order_id or 0) >= order_id)
            and (start is None or r.created_ms >= start) and (end is None or r.created_ms <= end)
        ]
        rows = rows[:limit] if order_id is not None or start is not None else rows[-limit:]
        return [r.view(with_time=True) for r in rows]
