"""Applies the risk controls of `pmm.engine.risk` inside the engine: guards, kill switch, flatten."""

from __future__ import annotations

import logging
from dataclasses import replace
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pmm.core.events import ConnectionChanged
from pmm.core.model import OrderPurpose, OrderType, PositionAction, PositionMode, PositionSide, Side
from pmm.engine.desk import Control, Desk
from pmm.engine.risk import RiskLimits, RiskMonitor
from pmm.strategy.params import PriceSource
from pmm.strategy.views import Decision, OrderIntent

if TYPE_CHECKING:
    from pmm.engine.state import SessionPnl
    from pmm.engine.tracker import TrackedOrder
    from pmm.strategy.params import PmmParams

log = logging.getLogger("pmm.risk")


class PriceInputs(Protocol):
    """The reference prices pushed in from outside the quoted book (custom API, external market)."""

    custom_price: Decimal | None
    custom_price_reason: str

    def external_wait(self) -> str: ...


class Safety:
    def __init__(self, desk: Desk, limits: RiskLimits, control: Control, *, params: PmmParams,
                 session: SessionPnl, prices: PriceInputs,
                 settle_stuck_orders: Callable[[list[TrackedOrder]], Coroutine[Any, Any, None]]) -> None:
        self._desk = desk
        self._control = control
        self._params = params
        self._session = session
        self._prices = prices
        self._settle_stuck_orders = settle_stuck_orders
        self.limits = limits
        self.monitor = RiskMonitor(limits, desk.clock.now())
        self.flatten_requested = False
        self._down_since: dict[str, float] = {}
        self.reconnects = 0  # connections restored after a drop, this run
        self._cancel_on_reconnect = False

    # --- kill switch ------------------------------------------------------------------------------

    def check_kill(self) -> None:
        desk = self._desk
        if self.monitor.tripped is not None:
            return
        mark = desk.mark_price()
        reason = self.monitor.kill_reason(
            now=desk.clock.now(), session_net=self._session.net(desk.unrealized()),
            positions=desk.positions(), mark=mark,
            open_orders=len(desk.active_orders()))
        if reason is not None:
            self.monitor.tripped = reason
            self.flatten_requested = self.flatten_requested or self.limits.flatten_on_kill
            log.error("KILL SWITCH: %s. Cancelling every own order%s.", reason,
                      " and flattening" if self.flatten_requested else "")
            self._control.request_stop(f"kill switch: {reason}")

    # --- guards on the strategy's decision -------------------------------------------------------

    def blocked_reason(self) -> str | None:
        """Why no quote may be placed or kept right now (stale data, a connection down), or None."""
        desk = self._desk
        if self._down_since:
            stream, since = next(iter(self._down_since.items()))
            return f"{stream} connection down for {desk.clock.now() - since:.0f} s"
        state = desk.state
        return self.monitor.stale_reason(now=desk.clock.now(), last_data_ts=state.last_data_ts,
                                         book_ready=state.ready and not state.book.is_empty,
                                         resync_reason=state.resync_reason)

    def pull_quotes(self, reason: str) -> None:
        desk = self._desk
        for order in desk.active_orders():
            if order.request.purpose is OrderPurpose.QUOTE and order.cancel_sent_ts is None:
                desk.orders.cancel(order.client_id, reason)

    def shape(self, decision: Decision, blocked: str | None) -> Decision:
        """Drop what the guards forbid from a decision and say why."""
        desk = self._desk
        if blocked is not None:
            places = tuple(p for p in decision.places if p.purpose is not OrderPurpose.QUOTE)
            return replace(decision, places=places, quoting=False, reason=f"not quoting: {blocked}")
        if self._params.price_source is PriceSource.CUSTOM_API and self._prices.custom_price is None:
            # The custom API answers garbage or nothing: the strategy places no new quote, and the
            # quotes resting from its last good price are pulled, as they are for stale data.
            self.pull_quotes(f"price source not ready: {self._prices.custom_price_reason}")
        elif self._params.price_source is PriceSource.EXTERNAL_MARKET and (waiting := self._prices.external_wait()):
            # The same for an external book that is resyncing or cut off: no quote rests on its old price.
            self.pull_quotes(f"price source not ready: {waiting}")
        near = self.monitor.near_liquidation(desk.positions(), desk.mark_price())
        if near is not None:
            places = tuple(p for p in decision.places if p.position_action is not PositionAction.OPEN)
            return replace(decision, places=places, quoting=False, reason=near)
        return decision

    def next_stale_check(self) -> float | None:
        state = self._desk.state
        if self.limits.stale_data_s <= 0 or state.last_data_ts is None:
            return None
        return state.last_data_ts + self.limits.stale_data_s + 0.001

    # --- disconnect safety ------------------------------------------------------------------------

    def on_connection(self, event: ConnectionChanged) -> None:
        desk = self._desk
        now = desk.clock.now()
        key = f"{event.connector} {event.stream}"
        if not event.connected:
            self._down_since.setdefault(key, now)
            log.warning("%s disconnected: %s", key, event.reason)
            return
        since = self._down_since.pop(key, None)
        if since is None:
            return
        down_for = now - since
        self.reconnects += 1
        log.info("%s reconnected after %.1f s", key, down_for)
        if 0 < self.limits.disconnect_cancel_s < down_for:
            log.warning("the venue was unreachable for %.0f s (> disconnect_cancel_s %g): cancelling every own "
                        "order and reconciling", down_for, self.limits.disconnect_cancel_s)
            desk.orders.cancel_all_own(f"reconnected after {down_for:.0f} s unreachable")
            self._control.spawn(self._settle_stuck_orders(list(desk.active_orders())))

    # --- flatten ----------------------------------------------------------------------------------

    async def flatten(self) -> None:
        """Close the market's positions: reduce-only limit at the touch, then market after a timeout."""
        desk = self._desk
        for attempt in (OrderType.LIMIT, OrderType.MARKET):
            positions = desk.positions()
            if not positions:
                return
            for position in positions:
                desk.orders.place(self._closing_intent(position.side, position.amount, attempt))
            deadline = desk.clock.now() + self.limits.flatten_timeout_s
            while desk.positions() and desk.clock.now() < deadline:
                await self._control.settle_pending(steps=1)
            if attempt is OrderType.LIMIT and desk.positions():
                log.warning("flatten: limit orders did not close the position in %g s; sending market orders",
                            self.limits.flatten_timeout_s)
                desk.orders.cancel_all_own("flatten: replacing the limit order with a market order")
                while desk.active_orders() and desk.clock.now() < deadline + 10:
                    await self._control.settle_pending(steps=1)
        left = desk.positions()
        if left:
            log.error("flatten: position still open after market orders: %s", left)
        else:
            log.info("flatten: position closed")

    def _closing_intent(self, side: PositionSide, amount: Decimal, order_type: OrderType) -> OrderIntent:
        desk = self._desk
        book = desk.state.book
        closing = side.closing_side
        price = None
        if order_type is OrderType.LIMIT:
            touch = book.best_bid if closing is Side.SELL else book.best_ask
            price = touch if touch is not None else desk.mark_price()
        hedge = self._params.position_mode is PositionMode.HEDGE
        return OrderIntent(side=closing, price=price or Decimal(0), amount=amount, order_type=order_type,
                           purpose=OrderPurpose.FLATTEN, position_action=PositionAction.CLOSE,
                           position_side=side if hedge else PositionSide.BOTH, reduce_only=not hedge)
