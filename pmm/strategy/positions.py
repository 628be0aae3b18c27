"""Position management: take-profit and stop-loss exits (reference §3, with §6.2 to §6.7 fixed).

Per open position (side from `Position.side`, never from a sign, §6.7):
- Take profit: whenever the profit-taking spread of that side is > 0, exactly one TAKE_PROFIT order
  rests at entry * (1 +/- spread) for the whole position (the reference only places it once the
  market is beyond entry, §6.2). It is replaced when its price or size stops matching; the old one
  is cancelled first and the new one placed once the old is gone, so closing orders never exceed
  the position. A mismatching TP stays in place while the TP throttle runs.
- Stop loss: triggered when best bid <= entry * (1 - sl) (long) / best ask >= entry * (1 + sl)
  (short). A STOP_LOSS LIMIT order is then priced from the CURRENT market with the slippage buffer
  (never from a previous exit's price, §6.3), for the whole position. A resting TP does not block
  it: the TP is cancelled in the same decision. While triggered, an SL older than
  `time_between_stop_loss_orders` is cancelled and re-placed at a fresh market price. An SL that
  reaches that age when the trigger no longer holds is cancelled and not replaced (as §3.2), and
  the TP comes back.
- Throttles are per (purpose, closing side): TP at most once per `filled_order_delay` (the
  reference's per-side exit throttle), SL at most once per `time_between_stop_loss_orders`. A
  throttle never blocks the other purpose or the other side (§6.4).
- Exits are recognised by `LiveOrder.purpose`, never by price (§6.5).

Size matching is tolerant of the order in which the engine sees a fill and the position update:
an exit "matches" a position of size S when its remaining OR its original amount equals S (a TP
that just filled 0.4 of 1.0 matches both the old position 1.0 and the new one 0.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.model import (
    OrderPurpose,
    OrderType,
    Position,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
    TradingRules,
)
from pmm.strategy.params import PmmParams
from pmm.strategy.views import Cancel, LiveOrder, OrderIntent, StrategyView

_ONE = Decimal(1)
EXIT_PURPOSES = (OrderPurpose.TAKE_PROFIT, OrderPurpose.STOP_LOSS)
EXIT_NOT_NEEDED = "position closed: exit order no longer needed"


@dataclass(slots=True)
class ExitPlan:
    """What position management wants this evaluation."""

    places: list[OrderIntent] = field(default_factory=list)
    cancels: dict[str, Cancel] = field(default_factory=dict)  # by client id: no duplicates
    notes: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)  # actions taken: always emitted
    advisory: list[str] = field(default_factory=list)  # standing warnings: emitted when new
    wakeups: list[float] = field(default_factory=list)

    def cancel(self, order: LiveOrder, reason: str) -> None:
        if not order.cancel_pending and order.client_id not in self.cancels:
            self.cancels[order.client_id] = Cancel(order.client_id, reason)


def size_matches(order: LiveOrder, size: Decimal) -> bool:
    """See the module docstring: tolerant of a fill seen before its position update."""
    return order.remaining == size or order.amount == size


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class ExitManager:
    """Take-profit / stop-loss state (the throttles) and the per-evaluation logic."""

    def __init__(self, params: PmmParams, rules: TradingRules) -> None:
        self._p = params
        self._rules = rules
        self._hedge = params.position_mode is PositionMode.HEDGE
        # (purpose, closing side) -> earliest time another exit of that kind may be placed
        self._next_allowed: dict[tuple[OrderPurpose, Side], float] = {}

    def reset(self) -> None:
        """No position any more: throttles belong to a position, a new one starts fresh."""
        if self._next_allowed:
            self._next_allowed.clear()

    # --- helpers ------------------------------------------------------------------------------

    def _throttle_end(self, purpose: OrderPurpose, side: Side) -> float:
        return self._next_allowed.get((purpose, side), 0.0)

    def _intent(self, pos: Position, purpose: OrderPurpose, price: Decimal, size: Decimal) -> OrderIntent:
        return OrderIntent(
            side=pos.side.closing_side,
            price=price,
            amount=size,
            order_type=OrderType.LIMIT,  # not post-only: an exit that crosses simply fills
            purpose=purpose,
            position_action=PositionAction.CLOSE,
            position_side=pos.side if self._hedge else PositionSide.BOTH,
            reduce_only=not self._hedge,  # hedge mode closes through position_side instead
        )

    def _exit_size(self, pos: Position, plan: ExitPlan) -> Decimal | None:
        size = self._rules.floor_size(pos.amount)
        if size <= 0 or size < self._rules.min_size:
            plan.notes.append(
                f"{pos.side.value} position {_fmt(pos.amount)} is below the minimum order size {self._rules.min_size}: "
                "no exit order possible"
            )
            return None
        return size

    # --- the evaluation -----------------------------------------------------------------------

    def manage(self, view: StrategyView, positions: Sequence[Position], book_usable: bool) -> ExitPlan:
        """Exits for every open position, plus cleanup of exits whose position is gone."""
        plan = ExitPlan()
        if not self._hedge and len(positions) > 1:
            plan.advisory.append(
                "More than one open position in ONEWAY position mode. Kindly ensure you do not interact "
                "with the exchange through other platforms and restart this strategy."
            )
        closing_sides = set()
        for pos in positions:
            closing_sides.add(pos.side.closing_side)
            self._manage_one(view, pos, book_usable, plan)
        for o in view.orders:
            if o.purpose in EXIT_PURPOSES and o.side not in closing_sides:
                plan.cancel(o, EXIT_NOT_NEEDED)
        return plan

    def _manage_one(self, view: StrategyView, pos: Position, book_usable: bool, plan: ExitPlan) -> None:
        now = view.now
        close_side = pos.side.closing_side
        is_long = pos.side is PositionSide.LONG
        tps = [o for o in view.orders if o.purpose is OrderPurpose.TAKE_PROFIT and o.side is close_side]
        sls = [o for o in view.orders if o.purpose is OrderPurpose.STOP_LOSS and o.side is close_side]
        live_sls = [o for o in sls if not o.cancel_pending]
        renew_age = self._p.time_between_stop_loss_orders

        # --- stop loss trigger, from the current top of book -------------------------------------
        triggered = False
        market_price: Decimal | None = None
        if self._p.stop_loss_enabled:
            if not book_usable:
                plan.notes.append("book not ready: stop loss not evaluated")
            elif is_long:
                market_price = view.book.best_bid
                level = pos.entry_price * (_ONE - self._p.stop_loss_spread)
                triggered = market_price is not None and market_price <= level
                if triggered:
                    plan.notes.append(f"stop loss triggered: best bid {market_price} <= {_fmt(level)}")
            else:
                market_price = view.book.best_ask
                level = pos.entry_price * (_ONE + self._p.stop_loss_spread)
                triggered = market_price is not None and market_price >= level
                if triggered:
                    plan.notes.append(f"stop loss triggered: best ask {market_price} >= {_fmt(level)}")

        if triggered:
            assert market_price is not None
            self._stop_loss(view, pos, market_price, tps, live_sls, plan)
            return

        # --- not triggered: an SL left from a trigger expires at its renewal age (as §3.2) -------
        for o in live_sls:
            if now - o.created_ts >= renew_age:
                plan.cancel(o, "stop loss renewal: trigger no longer met, not replaced")
            else:
                plan.wakeups.append(o.created_ts + renew_age)
        # any SL still in the book (even one being cancelled) holds the side: the TP waits for it
        self._take_profit(view, pos, tps, bool(sls), plan)

    def _take_profit(
        self, view: StrategyView, pos: Position, tps: list[LiveOrder], resting_sl: bool, plan: ExitPlan
    ) -> None:
        now = view.now
        close_side = pos.side.closing_side
        p = self._p
        spread = p.long_profit_taking_spread if pos.side is PositionSide.LONG else p.short_profit_taking_spread
        live_tps = [o for o in tps if not o.cancel_pending]
        if spread <= 0:
            for o in live_tps:
                plan.cancel(o, "take profit disabled for this side")
            return
        size = self._exit_size(pos, plan)
        if pos.side is PositionSide.LONG:
            price = self._rules.ceil_price(pos.entry_price * (_ONE + spread))  # a sell: round up
        else:
            price = self._rules.floor_price(pos.entry_price * (_ONE - spread))  # a buy: round down
        if size is None or price <= 0:
            for o in live_tps:
                plan.cancel(o, "take profit not possible for this position")
            return

        throttle_end = self._throttle_end(OrderPurpose.TAKE_PROFIT, close_side)
        throttled = now < throttle_end
        keeper: LiveOrder | None = None
        stale: list[LiveOrder] = []
        for o in live_tps:
            if keeper is None and o.price == price and size_matches(o, size):
                keeper = o
            else:
                stale.append(o)
        if stale:
            if keeper is not None or not throttled:
                for o in stale:
                    plan.cancel(o, f"take profit replaced: now {_fmt(size)} @ {price}")
            else:
                # keep the old TP resting rather than none while the throttle runs
                plan.wakeups.append(throttle_end)
                return
        if keeper is not None or tps or resting_sl:
            return  # one is resting, or wait until the old ones are gone
        if throttled:
            plan.wakeups.append(throttle_end)
            return
        plan.places.append(self._intent(pos, OrderPurpose.TAKE_PROFIT, price, size))
        self._next_allowed[(OrderPurpose.TAKE_PROFIT, close_side)] = now + self._p.filled_order_delay
        plan.logs.append(
            f"Creating take profit {close_side.value} order ({_fmt(size)} @ {price}) "
            f"to close {pos.side.value} position (entry {pos.entry_price})."
        )

    def _stop_loss(
        self,
        view: StrategyView,
        pos: Position,
        market_price: Decimal,
        tps: list[LiveOrder],
        live_sls: list[LiveOrder],
        plan: ExitPlan,
    ) -> None:
        now = view.now
        close_side = pos.side.closing_side
        renew_age = self._p.time_between_stop_loss_orders
        for o in tps:
            plan.cancel(o, "stop loss triggered: take profit cancelled")
        # Opening quotes that would add to the losing position go too (our addition).
        for o in view.orders:
            if o.purpose is OrderPurpose.QUOTE and o.side is not close_side:
                plan.cancel(o, "stop loss triggered: quote would add to the position")

        size = self._exit_size(pos, plan)
        buffer = self._p.stop_loss_slippage_buffer
        if pos.side is PositionSide.LONG:
            price = self._rules.floor_price(market_price * (_ONE - buffer))  # sell: down = more aggressive
        else:
            price = self._rules.ceil_price(market_price * (_ONE + buffer))  # buy: up = more aggressive

        throttle_end = self._throttle_end(OrderPurpose.STOP_LOSS, close_side)
        throttled = now < throttle_end
        if live_sls:
            due = [o for o in live_sls if now - o.created_ts >= renew_age]
            wrong_size = size is not None and any(not size_matches(o, size) for o in live_sls)
            if (due or wrong_size) and not throttled:
                for o in live_sls:
                    plan.cancel(o, "stop loss renewal: re-priced from the current market")
            else:
                plan.wakeups.append(min(o.created_ts for o in live_sls) + renew_age)
                if throttled:
                    plan.wakeups.append(throttle_end)
                return
        if size is None or price <= 0:
            return
        if throttled:
            plan.wakeups.append(throttle_end)
            return
        plan.places.append(self._intent(pos, OrderPurpose.STOP_LOSS, price, size))
        self._next_allowed[(OrderPurpose.STOP_LOSS, close_side)] = now + renew_age
        plan.wakeups.append(now + renew_age)
        plan.logs.append(
            f"Creating stop loss {close_side.value} order ({_fmt(size)} @ {price}) "
            f"to close {pos.side.value} position (entry {pos.entry_price}, market {market_price})."
        )
