"""The new-order parameters of a pmm `OrderRequest` in Binance's terms. Pure functions, no I/O.

LIMIT (GTC), LIMIT_MAKER (LIMIT + timeInForce GTX, post-only) and MARKET, with the engine's client
order id as `newClientOrderId`. One-way mode sends `reduceOnly=true` for reduce-only orders; hedge
mode sends `positionSide` LONG/SHORT and never `reduceOnly` (Binance refuses it there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.core.model import OrderRequest, OrderType, PositionAction, PositionSide, Side
from pmm.errors import OrderError

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def fmt(value: Decimal) -> str:
    """A decimal as Binance expects it: plain notation, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def hedge_side(request: OrderRequest) -> str:
    """The `positionSide` of an order in hedge mode."""
    if request.position_side is PositionSide.LONG:
        return c.POSITION_SIDE_LONG
    if request.position_side is PositionSide.SHORT:
        return c.POSITION_SIDE_SHORT
    # BOTH in hedge mode: buying opens a long / closes a short, selling the reverse.
    opening = request.position_action is PositionAction.OPEN and not request.reduce_only
    return c.POSITION_SIDE_LONG if (request.side is Side.BUY) == opening else c.POSITION_SIDE_SHORT


def order_params(request: OrderRequest, symbol_of: Callable[[str], str], *, hedge: bool) -> list[tuple[str, str]]:
    """The new-order parameters for `request`, in the order the official examples use; the symbol is
    asked of `symbol_of(market)` once the client order id passed Binance's rule."""
    if not _CLIENT_ID.match(request.client_id):
        raise OrderError(f"client order id {request.client_id!r} does not fit Binance's rule "
                         "^[.A-Z:/a-z0-9_-]{1,36}$; the order was not sent.")
    params = [("symbol", symbol_of(request.market)), ("side", c.SIDE_BUY if request.side is Side.BUY else c.SIDE_SELL)]
    if hedge:
        params.append(("positionSide", hedge_side(request)))
    if request.order_type is OrderType.MARKET:
        params += [("type", c.ORDER_TYPE_MARKET), ("quantity", fmt(request.amount))]
    else:
        if request.price is None:
            raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
        tif = c.TIF_GTX if request.order_type is OrderType.LIMIT_MAKER else c.TIF_GTC
        params += [("type", c.ORDER_TYPE_LIMIT), ("quantity", fmt(request.amount)),
                   ("price", fmt(request.price)), ("timeInForce", tif)]
    if request.reduce_only and not hedge:
        params.append(("reduceOnly", c.TRUE))
    params.append(("newClientOrderId", request.client_id))
    return params


def stop_order_params(market_symbol: str, client_id: str, side: Side, amount: Decimal, trigger_price: Decimal, *,
                      trigger_on_mark: bool, limit_price: Decimal | None, position_side: PositionSide,
                      hedge: bool) -> list[tuple[str, str]]:
    """The parameters of a reduce-only stop on Binance's Algo Service (POST /fapi/v1/algoOrder):
    STOP_MARKET, or STOP with a GTC limit at `limit_price`; `workingType` MARK_PRICE or
    CONTRACT_PRICE (the last price). One-way mode sends `reduceOnly=true`; hedge mode names the
    position it closes (`positionSide`) and never `reduceOnly` (Binance refuses it there)."""
    if not _CLIENT_ID.match(client_id):
        raise OrderError(f"client order id {client_id!r} does not fit Binance's rule "
                         "^[.A-Z:/a-z0-9_-]{1,36}$; the stop was not sent.")
    params = [("algoType", c.ALGO_TYPE_CONDITIONAL), ("symbol", market_symbol),
              ("side", c.SIDE_BUY if side is Side.BUY else c.SIDE_SELL)]
    if hedge:
        closes = position_side if position_side is not PositionSide.BOTH else \
            (PositionSide.LONG if side is Side.SELL else PositionSide.SHORT)
        params.append(("positionSide", c.POSITION_SIDE_LONG if closes is PositionSide.LONG else c.POSITION_SIDE_SHORT))
    if limit_price is None:
        params.append(("type", c.ORDER_TYPE_STOP_MARKET))
    else:
        params += [("type", c.ORDER_TYPE_STOP), ("price", fmt(limit_price)), ("timeInForce", c.TIF_GTC)]
    params += [("quantity", fmt(amount)), ("triggerPrice", fmt(trigger_price)),
               ("workingType", c.WORKING_TYPE_MARK if trigger_on_mark else c.WORKING_TYPE_CONTRACT)]
    if not hedge:
        params.append(("reduceOnly", c.TRUE))
    params.append(("clientAlgoId", client_id))
    return params
