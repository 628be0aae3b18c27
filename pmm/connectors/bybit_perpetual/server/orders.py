"""The Bybit view of orders: every order the server placed, in Bybit's terms, kept current from the
simulator's private events.

Bybit names an order by a UUID `orderId` (given in the REST answer before the order is processed)
and an optional `orderLinkId` that must be unique; the simulator keys orders by client id. So the
desk gives each order a `sim_id` (the orderLinkId, or a server-made id when there is none) and keeps
one `OrderRecord` per order: pending (sent, no answer yet) by sim_id, then by orderId and
orderLinkId for as long as the server runs.

Closing words (exchange_apis.md §B4, docs `enum.mdx`): linear orders end Filled or Cancelled
(a partially filled one too); `cancelType` says who cancelled — CancelByUser for a client's
cancel, CancelByReduceOnly when the venue cancels a reduce-only order with nothing left to reduce,
CancelByPrepareLiq before a liquidation, CancelByDCP when Disconnection Protection fired
(`server/dcp.py`), UNKNOWN for an IOC or market remainder — and
`rejectReason` why: EC_PerCancelRequest, EC_NoImmediateQtyToFill, EC_PostOnlyWillTakeLiquidity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.wire import money
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

_OPEN = (c.ORDER_STATUS_NEW, c.ORDER_STATUS_PARTIALLY_FILLED)
_STOP = (c.ORDER_STATUS_UNTRIGGERED, c.ORDER_STATUS_TRIGGERED, c.ORDER_STATUS_DEACTIVATED)


@dataclass(slots=True)
class OrderRecord:
    """One order as Bybit reports it. Mutable: the desk updates it from the sim's events."""

    order_id: str
    link_id: str  # "" when the client gave none
    sim_id: str
    symbol: str
    market: str
    side: str  # Buy / Sell
    order_type: str  # Limit / Market
    time_in_force: str  # GTC / IOC / FOK / PostOnly
    price: Decimal
    qty: Decimal
    reduce_only: bool
    close_on_trigger: bool
    position_idx: int
    grid: Grid
    created_ms: int
    last_price_on_created: str
    updated_ms: int = 0
    status: str = ""  # "" while pending
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO
    cum_fee: Decimal = ZERO
    closed_pnl: Decimal = ZERO
    cancel_type: str = c.CANCEL_TYPE_UNKNOWN
    reject_reason: str = c.REJECT_NO_ERROR
    rejection: OrderRejected | None = None
    cancel_requested: bool = False  # the client asked: CancelByUser
    expire_requested: bool = False  # the server cancels an IOC remainder itself
    cancel_refused: bool = False
    dcp_requested: bool = False  # Disconnection Protection cancels it: CancelByDCP
    # A conditional order (`server/stops.py`): Untriggered until its trigger price is crossed.
    trigger_price: Decimal | None = None
    trigger_direction: int = 0
    trigger_by: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN

    @property
    def is_untriggered(self) -> bool:
        return self.status == c.ORDER_STATUS_UNTRIGGERED

    @property
    def is_stop(self) -> bool:
        """A conditional order that never became an active one (orderFilter StopOrder)."""
        return self.status in _STOP

    @property
    def is_live_stop(self) -> bool:
        return self.status in _STOP and self.status != c.ORDER_STATUS_DEACTIVATED

    @property
    def answered(self) -> bool:
        return bool(self.status) or self.rejection is not None

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.cum_qty if self.is_open else ZERO

    @property
    def is_closing(self) -> bool:
        """Reduce-only, close-on-trigger, or a hedge-mode close (Sell on idx 1, Buy on idx 2)."""
        hedge_close = (self.position_idx == c.POSITION_IDX_HEDGE_BUY and self.side == c.SIDE_SELL) or (
            self.position_idx == c.POSITION_IDX_HEDGE_SELL and self.side == c.SIDE_BUY)
        return self.reduce_only or self.close_on_trigger or hedge_close

    @property
    def sim_order_type(self) -> OrderType:
        if self.order_type == c.ORDER_TYPE_MARKET:
            return OrderType.MARKET
        return OrderType.LIMIT_MAKER if self.time_in_force == c.TIF_POST_ONLY else OrderType.LIMIT

    def view(self, *, with_category: bool = False) -> dict[str, Any]:
        """The order object of order/realtime and of the order topic (which adds `category`)."""
        grid = self.grid
        avg = self.cum_value / self.cum_qty if self.cum_qty else None
        data: dict[str, Any] = {"category": c.CATEGORY_LINEAR} if with_category else {}
        data.update({
            "orderId": self.order_id, "orderLinkId": self.link_id, "blockTradeId": "", "symbol": self.symbol,
            "price": grid.price(self.price) if self.price else "0", "qty": grid.qty(self.qty), "side": self.side,
            "isLeverage": "", "positionIdx": self.position_idx, "orderStatus": self.status or c.ORDER_STATUS_NEW,
            "createType": c.CREATE_TYPE_BY_USER, "cancelType": self.cancel_type, "rejectReason": self.reject_reason,
            "avgPrice": money(avg) if avg is not None else "",
            "leavesQty": grid.qty(self.leaves_qty), "leavesValue": money(self.leaves_qty * self.price),
            "cumExecQty": grid.qty(self.cum_qty), "cumExecValue": money(self.cum_value),
            "cumExecFee": money(self.cum_fee), "closedPnl": money(self.closed_pnl), "feeCurrency": "",
            "timeInForce": self.time_in_force, "orderType": self.order_type,
            "stopOrderType": c.STOP_ORDER_TYPE_STOP if self.trigger_price is not None else "",
            "ocoTriggerBy": "", "orderIv": "", "marketUnit": "", "slippageToleranceType": "UNKNOWN",
            "slippageTolerance": "0",
            "triggerPrice": grid.price(self.trigger_price) if self.trigger_price is not None else "",
            "takeProfit": "", "stopLoss": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "tpTriggerBy": "",
            "slTriggerBy": "", "triggerDirection": self.trigger_direction, "triggerBy": self.trigger_by,
            "lastPriceOnCreated": self.last_price_on_created, "reduceOnly": self.reduce_only,
            "closeOnTrigger": self.close_on_trigger, "placeType": "", "smpType": c.SMP_TYPE_NONE, "smpGroup": 0,
            "smpOrderId": "", "createdTime": str(self.created_ms), "updatedTime": str(self.updated_ms),
            "cumFeeDetail": {grid.rules.quote: money(self.cum_fee)} if self.cum_fee else {},
        })
        return data


# (event or None for a refusal the server closed itself, the order it concerns or None)
OrderListener = Callable[[AccountEvent | None, OrderRecord | None], None]


class OrderDesk:
    """Every order placed through the server, updated from the simulator's private events.

    Listeners get `(event, record)` for each private event after the record changed (record None
    for events about no order of ours: positions, balances, funding, liquidation fills).
    """

    def __init__(self, closed_kept: int = c.CLOSED_ORDERS_KEPT) -> None:
        self.pending: dict[str, OrderRecord] = {}
        self.by_id: dict[str, OrderRecord] = {}
        self.by_link: dict[str, OrderRecord] = {}
        self.by_sim: dict[str, OrderRecord] = {}
        self.closed: deque[OrderRecord] = deque(maxlen=closed_kept)
        self._listeners: list[OrderListener] = []
        self.on_accepted: Callable[[OrderRecord], None] | None = None

    def listen(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def add_pending(self, record: OrderRecord) -> None:
        self.pending[record.sim_id] = record

    def link_id_taken(self, link_id: str) -> bool:
        return link_id in self.by_link or any(r.link_id == link_id for r in self.pending.values())

    def find(self, order_id: str | None, link_id: str | None) -> OrderRecord | None:
        """By orderId first (Bybit: "orderId has priority"), else by orderLinkId."""
        if order_id is not None:
            return self.by_id.get(order_id)
        return self.by_link.get(link_id) if link_id is not None else None

    def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        return [r for r in self.by_id.values() if r.is_open and (symbol is None or r.symbol == symbol)]

    def _register(self, record: OrderRecord) -> None:
        self.by_id[record.order_id] = record
        self.by_sim[record.sim_id] = record
        if record.link_id:
            self.by_link[record.link_id] = record

    def publish(self, record: OrderRecord) -> None:
        """Tell the listeners of a change the desk did not see come from the simulator (a
        conditional order resting, triggering or deactivated: `server/stops.py`)."""
        for listener in self._listeners:
            listener(None, record)

    def register(self, record: OrderRecord) -> None:
        """A conditional order: known by its ids from its acceptance on, before the simulator sees it."""
        self._register(record)

    def close_refused(self, record: OrderRecord, reject_reason: str, when_ms: int) -> None:
        """An order Bybit accepts and closes at once (a PostOnly that would take, a market order
        with nothing to take): registered Cancelled with `reject_reason`, pushed on the order topic."""
        self.pending.pop(record.sim_id, None)
        record.status = c.ORDER_STATUS_CANCELLED
        record.reject_reason = reject_reason
        record.updated_ms = when_ms
        self._register(record)
        self.closed.append(record)
        for listener in self._listeners:
            listener(None, record)

    # --- the simulator's private events ---------------------------------------------------------

    def on_private(self, event: AccountEvent) -> None:
        record: OrderRecord | None = None
        match event:
            case OrderAccepted():
                record = self.pending.pop(event.client_id, None)
                if record is None:
                    return
                record.status = c.ORDER_STATUS_NEW
                record.updated_ms = ms(event.ts)
                self._register(record)
            case OrderRejected():
                record = self.pending.pop(event.client_id, None)
                if record is not None:
                    record.rejection = event
                return  # Bybit answers the REST call with an error; nothing goes on the stream
            case OrderFilled():
                record = self.by_sim.get(event.client_id)
                if record is not None:
                    record.cum_qty += event.amount
                    record.cum_value += event.price * event.amount
                    record.cum_fee += event.fee
                    record.closed_pnl += event.realized_pnl - event.fee if event.realized_pnl else ZERO
                    record.updated_ms = ms(event.ts)
                    if event.remaining <= 0:
                        record.status = c.ORDER_STATUS_FILLED
                        self.closed.append(record)
                    else:
                        record.status = c.ORDER_STATUS_PARTIALLY_FILLED
            case OrderCancelled():
                record = self.by_sim.get(event.client_id)
                if record is None or not record.is_open:
                    return
                self._close(record, ms(event.ts))
            case OrderCancelRejected():
                found = self.by_sim.get(event.client_id)
                if found is not None and not found.expire_requested:
                    found.cancel_refused = True
                return
            case _:
                pass
        for listener in self._listeners:
            listener(event, record)
        if isinstance(event, OrderAccepted) and record is not None and self.on_accepted is not None:
            self.on_accepted(record)

    def _close(self, record: OrderRecord, when_ms: int) -> None:
        record.updated_ms = when_ms
        record.status = c.ORDER_STATUS_CANCELLED
        if record.dcp_requested:
            record.cancel_type = c.CANCEL_TYPE_BY_DCP
        elif record.cancel_requested and not record.expire_requested:
            record.cancel_type, record.reject_reason = c.CANCEL_TYPE_BY_USER, c.REJECT_PER_CANCEL_REQUEST
        elif record.expire_requested:
            record.cancel_type, record.reject_reason = c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_IMMEDIATE_QTY_TO_FILL
        elif record.is_closing:
            record.cancel_type = c.CANCEL_TYPE_BY_REDUCE_ONLY  # nothing left to reduce
        elif record.order_type == c.ORDER_TYPE_MARKET:
            record.cancel_type, record.reject_reason = c.CANCEL_TYPE_UNKNOWN, c.REJECT_NO_IMMEDIATE_QTY_TO_FILL
        else:
            record.cancel_type = c.CANCEL_TYPE_BY_PREPARE_LIQ
        self.closed.append(record)
