"""Our orders and their lifecycle, driven by the venue's events.

Every order we send is tracked from the moment it is sent (PENDING_NEW) until the venue says it is
finished. An order whose outcome is unknown (timeout, lost cancel) stays tracked until
reconciliation settles it; it is never assumed gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    OrderRequest,
    OrderStatus,
)
from pmm.strategy.views import LiveOrder


@dataclass
class TrackedOrder:
    request: OrderRequest
    created_ts: float
    status: OrderStatus = OrderStatus.PENDING_NEW
    exchange_id: ExchangeOrderId | None = None
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # sum of fill price * amount, for the average fill price
    cancel_sent_ts: float | None = None
    cancel_attempts: int = 0
    updated_ts: float = 0.0
    last_reason: str = ""
    trade_ids: set[str] = field(default_factory=set)
    # The last `as_live()` and what it was built from: the engine asks for the live orders on every
    # book update, and they rarely change in between.
    _live: LiveOrder | None = field(default=None, init=False, repr=False, compare=False)
    _live_request: OrderRequest | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def client_id(self) -> ClientOrderId:
        return self.request.client_id

    @property
    def remaining(self) -> Decimal:
        return self.request.amount - self.filled

    @property
    def average_fill_price(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    def as_live(self) -> LiveOrder:
        req = self.request
        live = self._live
        # Same objects, not equal values: a Decimal equal to the old one may print differently.
        if (live is not None and self._live_request is req and live.filled is self.filled
                and live.created_ts == self.created_ts and live.cancel_pending is (self.cancel_sent_ts is not None)):
            return live
        live = self._live = LiveOrder(
            client_id=req.client_id,
            side=req.side,
            price=req.price if req.price is not None else Decimal(0),
            amount=req.amount,
            filled=self.filled,
            purpose=req.purpose,
            level=req.level,
            position_action=req.position_action,
            created_ts=self.created_ts,
            cancel_pending=self.cancel_sent_ts is not None,
        )
        self._live_request = req
        return live


class OrderTracker:
    def __init__(self) -> None:
        self._orders: dict[ClientOrderId, TrackedOrder] = {}

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._orders

    def get(self, client_id: ClientOrderId) -> TrackedOrder | None:
        return self._orders.get(client_id)

    def add(self, request: OrderRequest, now: float) -> TrackedOrder:
        order = TrackedOrder(request=request, created_ts=now, updated_ts=now)
        self._orders[request.client_id] = order
        return order

    def adopt(self, order: TrackedOrder) -> None:
        self._orders[order.client_id] = order

    def active(self, market: str | None = None) -> list[TrackedOrder]:
        return [o for o in self._orders.values() if market is None or o.request.market == market]

    def live_orders(self, market: str) -> tuple[LiveOrder, ...]:
        return tuple(o.as_live() for o in self._orders.values() if o.request.market == market)

    def mark_accepted(self, client_id: ClientOrderId, exchange_id: ExchangeOrderId, now: float) -> TrackedOrder | None:
        order = self._orders.get(client_id)
        if order is None:
            return None
        order.exchange_id = exchange_id
        if order.status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN):
            order.status = OrderStatus.OPEN
        order.updated_ts = now
        return order

    def mark_fill(self, client_id: ClientOrderId, trade_id: str, price: Decimal, amount: Decimal,
                  remaining: Decimal, now: float) -> TrackedOrder | None:
        """Apply a fill once (by trade id). Returns the order, finished or not; None if unknown."""
        order = self._orders.get(client_id)
        if order is None or trade_id in order.trade_ids:
            return order
        order.trade_ids.add(trade_id)
        order.filled += amount
        order.cost += price * amount
        order.updated_ts = now
        if remaining <= 0 or order.filled >= order.request.amount:
            order.status = OrderStatus.FILLED
            del self._orders[client_id]
        elif order.cancel_sent_ts is None:
            order.status = OrderStatus.PARTIALLY_FILLED
        return order

    def mark_cancel_sent(self, client_id: ClientOrderId, now: float) -> TrackedOrder | None:
        order = self._orders.get(client_id)
        if order is None:
            return None
        order.cancel_sent_ts = now
        order.cancel_attempts += 1
        order.status = OrderStatus.PENDING_CANCEL
        order.updated_ts = now
        return order

    def finish(self, client_id: ClientOrderId, status: OrderStatus, now: float,
               reason: str = "") -> TrackedOrder | None:
        order = self._orders.pop(client_id, None)
        if order is None:
            return None
        order.status = status
        order.updated_ts = now
        order.last_reason = reason
        return order

    def mark_unknown(self, client_id: ClientOrderId, now: float, reason: str) -> TrackedOrder | None:
        order = self._orders.get(client_id)
        if order is not None:
            order.status = OrderStatus.UNKNOWN
            order.updated_ts = now
            order.last_reason = reason
        return order

    def stuck(self, now: float, timeout_s: float) -> list[TrackedOrder]:
        """Orders whose cancel or placement has gone unanswered for `timeout_s`."""
        out = []
        for order in self._orders.values():
            if order.cancel_sent_ts is not None and now - order.cancel_sent_ts >= timeout_s:
                out.append(order)
            elif order.status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN) and now - order.updated_ts >= timeout_s:
                out.append(order)
        return out
