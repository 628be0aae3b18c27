"""Checks an order request against the venue's rules and the account when it arrives.

Rejection codes (stable, short, ours): unknown_market, duplicate_client_id, invalid_amount,
off_step, invalid_price, off_tick, position_side_mismatch, below_min_size, below_min_notional,
no_liquidity, reduce_only_rejected, post_only_would_cross, insufficient_margin.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.core.model import OrderRequest, OrderType, PositionMode, PositionSide, Side, TradingRules
from pmm.sim.account import Account
from pmm.sim.num import round8


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    reason: str


def is_reducing(request: OrderRequest, mode: PositionMode) -> bool:
    """Reduce-only orders, and hedge-mode closes (sell LONG, buy SHORT), can never open."""
    if request.reduce_only:
        return True
    side = request.position_side
    return mode is PositionMode.HEDGE and side is not PositionSide.BOTH and side.closing_side is request.side


def check_order(
    request: OrderRequest,
    rules: TradingRules,
    account: Account,
    book: OrderBook,
    live_ids: Container[str],
    available: Callable[[], Decimal],
) -> Rejection | None:
    """None if the order may be accepted; otherwise why not."""
    market, amount, price = request.market, request.amount, request.price
    if request.client_id in live_ids:
        return Rejection("duplicate_client_id",
                         f"client order id {request.client_id} is already in use by an open order")
    if amount <= 0:
        return Rejection("invalid_amount", f"amount must be > 0, was {amount}")
    if not rules.is_on_step(amount):
        return Rejection("off_step", f"amount {amount} is not a multiple of the step size {rules.step_size}")
    if request.order_type is not OrderType.MARKET:
        if price is None or price <= 0:
            return Rejection("invalid_price", f"a {request.order_type} order needs a price > 0, was {price}")
        if not rules.is_on_tick(price):
            return Rejection("off_tick", f"price {price} is not a multiple of the tick size {rules.tick_size}")
    mode = account.position_mode
    if mode is PositionMode.ONEWAY and request.position_side is not PositionSide.BOTH:
        return Rejection("position_side_mismatch",
                         f"one-way mode takes position side BOTH, was {request.position_side}")
    if mode is PositionMode.HEDGE and request.position_side is PositionSide.BOTH:
        return Rejection("position_side_mismatch", "hedge mode needs position side LONG or SHORT, was BOTH")
    if amount < rules.min_size:
        return Rejection("below_min_size", f"amount {amount} is below the minimum size {rules.min_size} of {market}")
    opposite = book.best_ask if request.side is Side.BUY else book.best_bid
    if request.order_type is OrderType.MARKET:
        if opposite is None:
            return Rejection("no_liquidity", f"the {market} book has no {request.side.opposite} orders to take")
        # Margin and notional of a market order at the worst level it would reach.
        worst = book.price_at_depth(request.side.opposite, amount)
        price = worst if worst is not None else opposite
    assert price is not None
    reducing = is_reducing(request, mode)
    if not reducing and amount * price < rules.min_notional:
        return Rejection(
            "below_min_notional",
            f"notional {amount * price} is below the minimum {rules.min_notional} of {market}",
        )
    if reducing:
        if mode is PositionMode.HEDGE and request.position_side.closing_side is not request.side:
            return Rejection(
                "reduce_only_rejected",
                f"a reduce-only {request.side} on the {request.position_side} side would open, not reduce",
            )
        if account.reducible(market, request.side, request.position_side) <= 0:
            return Rejection(
                "reduce_only_rejected",
                f"a reduce-only {request.side} would open or increase a position: there is none to reduce on {market}",
            )
    if request.order_type is OrderType.LIMIT_MAKER and opposite is not None:
        if (price >= opposite) if request.side is Side.BUY else (price <= opposite):
            return Rejection(
                "post_only_would_cross",
                f"post-only {request.side} at {price} would take liquidity (best opposite price {opposite})",
            )
    if not reducing:
        opening = account.opening_qty(market, request.side, request.position_side, amount)
        required = round8(opening * price / account.leverage[market])
        free = available()
        if required > free:
            return Rejection(
                "insufficient_margin",
                f"needs {required} {rules.quote} of initial margin at {account.leverage[market]}x, "
                f"{free} is available",
            )
    return None
