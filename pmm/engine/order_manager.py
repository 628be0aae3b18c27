"""Turns the strategy's Decision into place/cancel calls, and keeps cancels honest.

The strategy may ask to cancel an order again while the first cancel is in flight: that is ignored.
A cancel or a placement that stays unanswered for `stuck_timeout_s` is settled by asking the venue
(reconciliation), instead of Hummingbot's silent 60 s expiry (reference §6.19).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from pmm.connectors.base import OrderGateway
from pmm.core.clock import Clock
from pmm.core.events import OrderRejected
from pmm.core.model import ClientOrderId, OrderRequest, OrderType
from pmm.engine.recorder import Recorder
from pmm.engine.tracker import OrderTracker, TrackedOrder
from pmm.errors import OrderError, OrderOutcomeUnknown, PmmError, UnknownOrder
from pmm.strategy.views import Decision, OrderIntent

log = logging.getLogger("pmm.orders")

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class OrderManager:
    def __init__(self, gateway: OrderGateway, tracker: OrderTracker, clock: Clock, recorder: Recorder,
                 spawn: Spawn, emit: Callable[[Any], None], client_id_prefix: str, market: str) -> None:
        self._gateway = gateway
        self._tracker = tracker
        self._clock = clock
        self._recorder = recorder
        self._spawn = spawn
        self._emit = emit
        self._prefix = client_id_prefix
        self._market = market
        self._counter = 0
        self.placed = 0
        self.cancelled = 0

    def new_client_id(self) -> ClientOrderId:
        self._counter += 1
        return ClientOrderId(f"{self._prefix}{self._counter}")

    def owns(self, client_id: str) -> bool:
        return client_id.startswith(self._prefix)

    def execute(self, decision: Decision) -> None:
        for cancel in decision.cancels:
            self.cancel(cancel.client_id, cancel.reason)
        for intent in decision.places:
            self.place(intent)

    def place(self, intent: OrderIntent) -> TrackedOrder:
        request = OrderRequest(
            client_id=self.new_client_id(),
            market=self._market,
            side=intent.side,
            order_type=intent.order_type,
            amount=intent.amount,
            price=None if intent.order_type is OrderType.MARKET else intent.price,
            position_action=intent.position_action,
            position_side=intent.position_side,
            reduce_only=intent.reduce_only,
            purpose=intent.purpose,
            level=intent.level,
        )
        order = self._tracker.add(request, self._clock.now())
        self._recorder.order_changed(order)
        self.placed += 1
        log.info("placing %s %s %s @ %s (%s, level %d) as %s", request.side, request.amount, request.market,
                 request.price, request.purpose, request.level, request.client_id)
        self._spawn(self._send_place(request))
        return order

    async def _send_place(self, request: OrderRequest) -> None:
        try:
            await self._gateway.place_order(request)
        except OrderOutcomeUnknown as exc:
            order = self._tracker.mark_unknown(request.client_id, self._clock.now(), str(exc))
            if order is not None:
                self._recorder.order_changed(order)
            log.warning("placement of %s has an unknown outcome (%s); it will be reconciled", request.client_id, exc)
        except PmmError as exc:
            # Refused by the venue (OrderError), or never sent (rate limit, ban, venue unreachable):
            # either way the order does not exist.
            now = self._clock.now()
            code = exc.code if isinstance(exc, OrderError) else exc.__class__.__name__
            self._emit(OrderRejected(request.client_id, request.market, str(exc), code, now, now))

    def cancel(self, client_id: ClientOrderId, reason: str) -> None:
        order = self._tracker.get(client_id)
        if order is None or order.cancel_sent_ts is not None:
            return
        self._tracker.mark_cancel_sent(client_id, self._clock.now())
        order.last_reason = reason
        self._recorder.order_changed(order)
        self.cancelled += 1
        log.info("cancelling %s: %s", client_id, reason)
        self._spawn(self._send_cancel(order.request.market, client_id))

    def resend_cancel(self, order: TrackedOrder) -> None:
        self._tracker.mark_cancel_sent(order.client_id, self._clock.now())
        self._spawn(self._send_cancel(order.request.market, order.client_id))

    async def _send_cancel(self, market: str, client_id: ClientOrderId) -> None:
        try:
            await self._gateway.cancel_order(market, client_id)
        except UnknownOrder as exc:
            # The venue does not know it: it may have just filled or never arrived. Reconcile.
            order = self._tracker.mark_unknown(client_id, self._clock.now(), str(exc))
            if order is not None:
                order.cancel_sent_ts = self._clock.now()
        except PmmError as exc:
            log.warning("cancel of %s did not go through (%s); it will be reconciled", client_id, exc)

    def cancel_all_own(self, reason: str) -> int:
        """Cancel every order this run tracks (never the user's other orders)."""
        orders = self._tracker.active(self._market)
        for order in orders:
            if order.cancel_sent_ts is None:
                self.cancel(order.client_id, reason)
        return len(orders)
