"""The Binance view of orders: every order the server placed, in Binance's terms, kept current from
the simulator's private events.

The simulator forgets an order once it is filled or cancelled; Binance can still be asked about it
(GET /fapi/v1/order, allOrders). The simulator keys orders by client id; Binance also by its
integer orderId, and lets a client id be reused once its order is closed. So the desk keeps one
`OrderRecord` per order: pending (sent, no answer yet) by client id, then by orderId.

Status words: the simulator cancels what nobody asked it to cancel (a market order's unfilled
rest, an IOC remainder, a reduce-only order with nothing left to reduce, orders cancelled at
liquidation); Binance calls those EXPIRED with an expiry reason, and CANCELED only what the client
cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.wire import money
from pmm.connectors.common.numbers import Grid, ms
from pmm.core.events import (
    AccountEvent,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
)
from pmm.core.model import ZERO, OrderType

_OPEN = (c.STATUS_NEW, c.STATUS_PARTIALLY_FILLED)
_UNFILLED_END = (c.STATUS_CANCELED, c.STATUS_EXPIRED)
_KEEP_UNFILLED_MS = 3 * 24 * 3600 * 1000
_KEEP_ANY_MS = 90 * 24 * 3600 * 1000


@dataclass(slots=True)
class OrderRecord:
    """One order as Binance reports it. Mutable: the desk updates it from the sim's events."""

    client_id: str
    symbol: str
    market: str
    side: str  # BUY / SELL
    order_type: str  # LIMIT / MARKET / LIQUIDATION
    time_in_force: str  # GTC / IOC / GTX ...
    price: Decimal  # 0 for market orders
    orig_qty: Decimal
    reduce_only: bool
    position_side: str  # BOTH / LONG / SHORT
    grid: Grid
    created_ms: int
    order_id: int | None = None
    status: str = c.STATUS_NEW
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_ms: int = 0
    rejection: OrderRejected | None = None
    cancel_requested: bool = False  # the client asked: CANCELED; otherwise the venue expired it
    expire_requested: bool = False  # the server expires an IOC remainder itself
    cancel_refused: bool = False
    expiry_reason: str = c.EXPIRY_NONE
    accepted_view: dict[str, object] = field(default_factory=dict)  # the ACK answer

    @property
    def is_open(self) -> bool:
        return self.order_id is not None and self.status in _OPEN

    @property
    def answered(self) -> bool:
        return self.order_id is not None or self.rejection is not None

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    def view(self, *, with_time: bool = False) -> dict[str, object]:
        """The order object of POST/GET/DELETE /fapi/v1/order (GET adds `time`)."""
        grid = self.grid
        data: dict[str, object] = {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": grid.price(self.price) if self.price else "0",
            "avgPrice": money(self.avg_price) if self.executed_qty else "0.00000",
            "origQty": grid.qty(self.orig_qty),
            "executedQty": grid.qty(self.executed_qty),
            "cumQty": grid.qty(self.executed_qty),
            "cumQuote": money(self.cum_quote),
            "timeInForce": self.time_in_force,
            "type": self.order_type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.order_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "goodTillDate": 0,
            "updateTime": self.update_ms,
        }
        if with_time:
            data["time"] = self.created_ms
        return data


OrderListener = Callable[[AccountEvent, "OrderRecord | None", str], None]


class OrderDesk:
    """Every order placed through the server, updated from the simulator's private events.

    Listeners get `(event, record, execution)` for each private event, after the record changed;
    `execution` is Binance's execution type (NEW, TRADE, CANCELED, EXPIRED, CALCULATED) or "" for
    events that are not about an order.
    """

    def __init__(self) -> None:
        self.pending: dict[str, OrderRecord] = {}
        self.by_id: dict[int, OrderRecord] = {}
        self.by_client: dict[str, OrderRecord] = {}
        self._listeners: list[OrderListener] = []
        self.on_accepted: Callable[[OrderRecord], None] | None = None

    def listen(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def add_pending(self, record: OrderRecord) -> None:
        self.pending[record.client_id] = record

    def find(self, order_id: int | None, client_id: str | None) -> OrderRecord | None:
        if order_id is not None:
            record = self.by_id.get(order_id)
            if record is not None and (client_id is None or record.client_id == client_id):
                return record
            return None
        return self.by_client.get(client_id) if client_id is not None else None

    def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        return [r for r in self.by_id.values() if r.is_open and (symbol is None or r.symbol == symbol)]

    def prune(self, now: float) -> int:
        """Forget what Binance forgets (Query Order docs): orders CANCELED or EXPIRED without a fill
        3 days after their creation, every order after 90 days. Returns how many went."""
        now_ms = ms(now)
        stale = [
            r for r in self.by_id.values()
            if not r.is_open and (
                now_ms - r.created_ms > _KEEP_ANY_MS
                or (not r.executed_qty and r.status in _UNFILLED_END and now_ms - r.created_ms > _KEEP_UNFILLED_MS)
            )
        ]
        for record in stale:
            del self.by_id[record.order_id]  # type: ignore[arg-type]
            if self.by_client.get(record.client_id) is record:
                del self.by_client[record.client_id]
        return len(stale)

    def open_notional(self, symbol: str, side: str) -> Decimal:
        return sum((r.price * r.remaining for r in self.open_orders(symbol) if r.side == side), ZERO)

    # --- the simulator's private events ---------------------------------------------------------

    def on_private(self, event: AccountEvent) -> None:
        record: OrderRecord | None = None
        execution = ""
        match event:
            case OrderAccepted():
                record = self.pending.pop(event.client_id, None)
                if record is not None:
                    record.order_id = int(event.exchange_id)
                    record.created_ms = record.update_ms = ms(event.ts)
                    self.by_id[record.order_id] = record
                    self.by_client[record.client_id] = record
                    record.accepted_view = record.view()
                    execution = c.EXEC_NEW
            case OrderRejected():
                record = self.pending.pop(event.client_id, None)
                if record is not None:
                    record.rejection = event
                return  # Binance answers the POST with an error; nothing goes on the stream
            case OrderFilled():
                record = self.by_id.get(int(event.exchange_id))
                if record is not None:
                    record.executed_qty += event.amount
                    record.cum_quote += event.price * event.amount
                    record.status = c.STATUS_FILLED if event.remaining <= 0 else c.STATUS_PARTIALLY_FILLED
                    record.update_ms = ms(event.ts)
                execution = c.EXEC_TRADE if record is not None else c.EXEC_CALCULATED
            case OrderCancelled():
                record = self.by_id.get(int(event.exchange_id)) if event.exchange_id is not None else None
                if record is None:
                    record = self.by_client.get(event.client_id)
                if record is not None:
                    execution = self._close(record, ms(event.ts))
            case OrderCancelRejected():
                record = self.by_client.get(event.client_id)
                if record is None or record.expire_requested:
                    return  # the IOC was already complete: nothing to expire
                record.cancel_refused = True
                return
            case _:
                pass
        for listener in self._listeners:
            listener(event, record, execution)
        if isinstance(event, OrderAccepted) and record is not None and self.on_accepted is not None:
            self.on_accepted(record)

    @staticmethod
    def _close(record: OrderRecord, when_ms: int) -> str:
        record.update_ms = when_ms
        if record.cancel_requested and not record.expire_requested:
            record.status = c.STATUS_CANCELED
            return c.EXEC_CANCELED
        record.status = c.STATUS_EXPIRED
        if record.order_type == c.ORDER_TYPE_MARKET:
            record.expiry_reason = c.EXPIRY_MARKET_REMAINDER
        elif record.expire_requested:
            record.expiry_reason = c.EXPIRY_IOC_REMAINDER
        elif record.reduce_only:
            record.expiry_reason = c.EXPIRY_REDUCE_ONLY
        else:
            record.expiry_reason = c.EXPIRY_LIQUIDATION
        return c.EXEC_EXPIRED


def sim_order_type(order_type: str, time_in_force: str) -> OrderType:
    """Binance type + timeInForce -> the simulator's order type (GTX is post-only)."""
    if order_type == c.ORDER_TYPE_MARKET:
        return OrderType.MARKET
    return OrderType.LIMIT_MAKER if time_in_force == c.TIF_GTX else OrderType.LIMIT

