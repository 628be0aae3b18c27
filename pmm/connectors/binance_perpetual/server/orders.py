"""The Binance view of the kit's order desk (`common/server/order_desk.py`): Binance's status words,
its order object, its lookups, and what it forgets.

The desk keeps every order in venue-neutral terms; Binance shows an order once the matching engine
accepted it (a refused one only ever got an error answer) under an integer `orderId`, and lets a
client id be reused once its order is closed. Status words: Binance calls CANCELED only what the
client (or its countdownCancelAll) cancelled, and EXPIRED what the venue ended itself (a market
order's unfilled rest, an IOC remainder, a reduce-only order with nothing left to reduce, orders
cancelled at liquidation), with an expiry reason.
"""

from __future__ import annotations

from decimal import Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.wire import SymbolMap, money, side_wire
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.core.events import AccountEvent, OrderAccepted
from pmm.core.model import ZERO, FillReport, Side

_STATUS = {State.OPEN: c.STATUS_NEW, State.PARTIALLY_FILLED: c.STATUS_PARTIALLY_FILLED,
           State.FILLED: c.STATUS_FILLED}
_TIF_WIRE = {Tif.GTC: c.TIF_GTC, Tif.IOC: c.TIF_IOC, Tif.FOK: c.TIF_FOK, Tif.POST_ONLY: c.TIF_GTX}
_REQUESTED = (Cause.USER, Cause.DEAD_MAN)  # Binance: CANCELED; any other cause: EXPIRED
_KEEP_UNFILLED_S = 3 * 24 * 3600.0
_KEEP_ANY_S = 90 * 24 * 3600.0


def status(order: DeskOrder) -> str:
    if order.state is State.CANCELED:
        return c.STATUS_CANCELED if order.cause in _REQUESTED else c.STATUS_EXPIRED
    return _STATUS.get(order.state, c.STATUS_NEW)


def expiry_reason(order: DeskOrder) -> str:
    if order.state is not State.CANCELED or order.cause in _REQUESTED:
        return c.EXPIRY_NONE
    if order.is_market:
        return c.EXPIRY_MARKET_REMAINDER
    if order.cause is Cause.UNFILLED:
        return c.EXPIRY_IOC_REMAINDER
    return c.EXPIRY_REDUCE_ONLY if order.cause is Cause.REDUCE_ONLY and order.reduce_only else c.EXPIRY_LIQUIDATION


def order_type(order: DeskOrder) -> str:
    return c.ORDER_TYPE_MARKET if order.is_market else c.ORDER_TYPE_LIMIT


def time_in_force(order: DeskOrder) -> str:
    return _TIF_WIRE[order.tif]


def visible(order: DeskOrder) -> bool:
    """Accepted by the matching engine: Binance knows it (a pending or refused one it does not)."""
    return order.state not in (State.PENDING, State.REJECTED)


class BinanceOrders:
    """The desk's orders as Binance reports and finds them."""

    def __init__(self, desk: OrderDesk, symbols: SymbolMap) -> None:
        self.desk = desk
        self._symbols = symbols

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        """Binance dates an order from its acceptance, and its ACK answer is the order as accepted."""
        if isinstance(event, OrderAccepted) and order is not None:
            order.created = event.ts
            order.extra["ack"] = self.view(order)

    def symbol(self, order: DeskOrder) -> str:
        return self._symbols.symbol(order.market)

    def find(self, order_id: int | None, client_id: str | None) -> DeskOrder | None:
        """By orderId (and then its client id must match too, when given), else by client id."""
        if order_id is not None:
            found = self.desk.by_id.get(str(order_id))
            if found is not None and client_id is not None and found.client_id != client_id:
                found = None
        else:
            found = self.desk.by_client.get(client_id) if client_id is not None else None
        return found if found is not None and visible(found) else None

    def open_orders(self, symbol: str | None = None) -> list[DeskOrder]:
        return [o for o in self.desk.open_orders() if symbol is None or self.symbol(o) == symbol]

    def all_orders(self, symbol: str) -> list[DeskOrder]:
        return sorted((o for o in self.desk.orders() if visible(o) and self.symbol(o) == symbol),
                      key=lambda o: int(o.order_id))

    def open_notional(self, market: str, side: Side) -> Decimal:
        return sum(((o.price or ZERO) * o.leaves_qty for o in self.desk.open_orders(market) if o.side is side), ZERO)

    def order_number(self, fill: FillReport) -> int:
        """The orderId of a fill's order (a liquidation's fill: the simulator's id)."""
        order = self.desk.by_sim.get(fill.client_id)
        return int(order.order_id) if order is not None else int(fill.exchange_id)

    def prune(self, now: float) -> int:
        """Forget what Binance forgets (Query Order docs): orders CANCELED or EXPIRED without a fill
        3 days after their creation, every closed order after 90 days. Returns how many went."""
        stale = [o for o in self.desk.orders() if visible(o) and not o.is_open and (
            now - o.created > _KEEP_ANY_S
            or (not o.cum_qty and o.state is State.CANCELED and now - o.created > _KEEP_UNFILLED_S))]
        for order in stale:
            self.desk.forget(order)
        return len(stale)

    def view(self, order: DeskOrder, *, with_time: bool = False) -> dict[str, object]:
        """The order object of POST/GET/DELETE /fapi/v1/order (GET adds `time`)."""
        grid = self._symbols.grid(self.symbol(order))
        avg = order.avg_price
        data: dict[str, object] = {
            "orderId": int(order.order_id), "symbol": self.symbol(order), "status": status(order),
            "clientOrderId": order.client_id, "price": grid.price(order.price) if order.price else "0",
            "avgPrice": money(avg) if avg is not None else "0.00000", "origQty": grid.qty(order.qty),
            "executedQty": grid.qty(order.cum_qty), "cumQty": grid.qty(order.cum_qty),
            "cumQuote": money(order.cum_value), "timeInForce": time_in_force(order), "type": order_type(order),
            "reduceOnly": order.reduce_only, "closePosition": False, "side": side_wire(order.side),
            "positionSide": order.position_side.value.upper(), "stopPrice": "0", "workingType": "CONTRACT_PRICE",
            "priceProtect": False, "origType": order_type(order), "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": ms(order.updated),
        }
        if with_time:
            data["time"] = ms(order.created)
        return data
