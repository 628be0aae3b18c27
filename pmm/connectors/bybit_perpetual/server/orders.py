"""The Bybit view of an order: the kit's `DeskOrder` (common/server/order_desk.py keeps every order
current from the simulator's events) in Bybit's words.

Bybit names an order by a UUID `orderId` and an optional `orderLinkId`, unique for ever; the
simulator knows the order by its orderLinkId (or by its orderId when there is none). What the kit
does not keep goes in `DeskOrder.extra`: the price Bybit shows (a market order's slippage-guarded
price, 0 for a conditional market order), `closeOnTrigger`, `lastPriceOnCreated`, the realised PnL
of the order's fills, a conditional order's trigger and `stop` status (`server/stops.py`), and the
cancel words of a refusal Bybit closes itself.

Closing words (exchange_apis.md §B4, docs `enum.mdx`): linear orders end Filled or Cancelled
(a partially filled one too); `cancelType` says who cancelled — CancelByUser for a client's
cancel, CancelByReduceOnly when the venue cancels a reduce-only order with nothing left to reduce,
CancelByPrepareLiq before a liquidation, CancelByDCP when Disconnection Protection fired
(`server/dcp.py`), UNKNOWN for an IOC or market remainder — and `rejectReason` why:
EC_PerCancelRequest, EC_NoImmediateQtyToFill, EC_NoEnoughQtyToFill, EC_PostOnlyWillTakeLiquidity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.wire import ZERO, SymbolMap, money, side_wire
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.core.model import PositionSide

_STATUS = {State.PENDING: c.ORDER_STATUS_NEW, State.OPEN: c.ORDER_STATUS_NEW,
           State.PARTIALLY_FILLED: c.ORDER_STATUS_PARTIALLY_FILLED, State.FILLED: c.ORDER_STATUS_FILLED,
           State.CANCELED: c.ORDER_STATUS_CANCELLED, State.REJECTED: c.ORDER_STATUS_REJECTED}
_TIF = {Tif.GTC: c.TIF_GTC, Tif.IOC: c.TIF_IOC, Tif.FOK: c.TIF_FOK, Tif.POST_ONLY: c.TIF_POST_ONLY}
TIF_IN = {wire: tif for tif, wire in _TIF.items()}
_IDX = {PositionSide.BOTH: c.POSITION_IDX_ONEWAY, PositionSide.LONG: c.POSITION_IDX_HEDGE_BUY,
        PositionSide.SHORT: c.POSITION_IDX_HEDGE_SELL}
# Why it was cancelled -> (cancelType, rejectReason)
_CLOSED = {
    Cause.USER: (c.CANCEL_TYPE_BY_USER, c.REJECT_PER_CANCEL_REQUEST),
    Cause.UNFILLED: (c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_IMMEDIATE_QTY_TO_FILL),
    Cause.FOK_UNFILLABLE: (c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_ENOUGH_QTY_TO_FILL),
    Cause.REDUCE_ONLY: (c.CANCEL_TYPE_BY_REDUCE_ONLY, c.REJECT_NO_ERROR),
    Cause.DEAD_MAN: (c.CANCEL_TYPE_BY_DCP, c.REJECT_NO_ERROR),
    Cause.VENUE: (c.CANCEL_TYPE_BY_PREPARE_LIQ, c.REJECT_NO_ERROR),
}
_STOP = (c.ORDER_STATUS_UNTRIGGERED, c.ORDER_STATUS_TRIGGERED, c.ORDER_STATUS_DEACTIVATED)


def status(order: DeskOrder) -> str:
    """orderStatus: a conditional order's own until it is active, else the desk's state."""
    stop = order.extra.get("stop")
    if stop == c.ORDER_STATUS_DEACTIVATED or (stop is not None and order.state is State.PENDING):
        return str(stop)
    return _STATUS[order.state]


def is_stop(order: DeskOrder) -> bool:
    """A conditional order that never became an active one (orderFilter StopOrder)."""
    return status(order) in _STOP


def is_untriggered(order: DeskOrder) -> bool:
    return status(order) == c.ORDER_STATUS_UNTRIGGERED


def shown(order: DeskOrder) -> bool:
    """What the venue lists: accepted orders (a refusal answered with a retCode never existed)."""
    return order.state is not State.REJECTED and (order.state is not State.PENDING or "stop" in order.extra)


def newest_first(orders: Iterable[DeskOrder]) -> list[DeskOrder]:
    """Newest first; orders created in the same millisecond latest-placed first."""
    return sorted(reversed(list(orders)), key=lambda o: ms(o.created), reverse=True)


def closing_words(order: DeskOrder) -> tuple[str, str]:
    """(cancelType, rejectReason)."""
    if order.state is not State.CANCELED:
        return c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_ERROR
    words = _CLOSED.get(order.cause, (c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_ERROR))
    if order.cause is Cause.UNFILLED and order.is_market and order.closing:
        words = (c.CANCEL_TYPE_BY_REDUCE_ONLY, c.REJECT_NO_ERROR)  # a reduce-only market order's rest
    return order.extra.get("cancel_type", words[0]), order.extra.get("reject_reason", words[1])


def view(order: DeskOrder, symbols: SymbolMap, *, with_category: bool = False) -> dict[str, Any]:
    """The order object of order/realtime and of the order topic (which adds `category`)."""
    symbol = symbols.symbol(order.market)
    grid = symbols.grid(symbol)
    x = order.extra
    price = x["price"]
    leaves = order.qty - order.cum_qty if order.is_open else ZERO
    avg = order.avg_price
    trigger = x.get("trigger_price")
    cancel_type, reject_reason = closing_words(order)
    data: dict[str, Any] = {"category": c.CATEGORY_LINEAR} if with_category else {}
    data.update({
        "orderId": order.order_id, "orderLinkId": order.client_id, "blockTradeId": "", "symbol": symbol,
        "price": grid.price(price) if price else "0", "qty": grid.qty(order.qty), "side": side_wire(order.side),
        "isLeverage": "", "positionIdx": _IDX[order.position_side], "orderStatus": status(order),
        "createType": c.CREATE_TYPE_BY_USER, "cancelType": cancel_type, "rejectReason": reject_reason,
        "avgPrice": money(avg) if avg is not None else "",
        "leavesQty": grid.qty(leaves), "leavesValue": money(leaves * price),
        "cumExecQty": grid.qty(order.cum_qty), "cumExecValue": money(order.cum_value),
        "cumExecFee": money(order.cum_fee), "closedPnl": money(x.get("closed_pnl", ZERO)), "feeCurrency": "",
        "timeInForce": _TIF[order.tif], "orderType": order_type(order),
        "stopOrderType": c.STOP_ORDER_TYPE_STOP if trigger is not None else "",
        "ocoTriggerBy": "", "orderIv": "", "marketUnit": "", "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0", "triggerPrice": grid.price(trigger) if trigger is not None else "",
        "takeProfit": "", "stopLoss": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "tpTriggerBy": "",
        "slTriggerBy": "", "triggerDirection": x.get("trigger_direction", 0), "triggerBy": x.get("trigger_by", ""),
        "lastPriceOnCreated": x["last_price_on_created"], "reduceOnly": x["reduce_only"],
        "closeOnTrigger": x["close_on_trigger"], "placeType": "", "smpType": c.SMP_TYPE_NONE, "smpGroup": 0,
        "smpOrderId": "", "createdTime": str(ms(order.created)), "updatedTime": str(ms(order.updated)),
        "cumFeeDetail": {grid.rules.quote: money(order.cum_fee)} if order.cum_fee else {},
    })
    return data


def order_type(order: DeskOrder) -> str:
    return c.ORDER_TYPE_MARKET if order.is_market else c.ORDER_TYPE_LIMIT
