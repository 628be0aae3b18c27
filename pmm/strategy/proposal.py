"""The opening-order proposal (reference §2.2 to §2.7), as pure functions.

Pipeline, in the reference's order: base proposal (levels or `order_override`), price band,
order optimization (1 level only), then (our addition) the venue minimums, budget, taker filter.

Quantization goes through `TradingRules`: bids round DOWN to the tick, asks round UP, sizes round
down to the step. The reference floors both prices; rounding asks up means rounding never makes a
quote more aggressive, and on tick-aligned inputs the result is the same. Unlike the reference's
level path, orders with a price <= 0 are dropped (§6.13), and so are orders below the venue's
minimum size or notional (the reference lets the connector fail them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.core.model import ZERO, OrderPurpose, Side, TradingRules, ceil_to
from pmm.strategy.params import PmmParams
from pmm.strategy.views import LiveOrder

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Proposed:
    """One proposed opening order: already quantized."""

    side: Side
    price: Decimal
    amount: Decimal
    level: int


@dataclass(slots=True)
class ProposalResult:
    """The proposal after every step, and what the steps removed (for Decision.reason/logs)."""

    orders: list[Proposed]
    notes: list[str] = field(default_factory=list)  # short, for Decision.reason
    logs: list[str] = field(default_factory=list)  # for Decision.logs


def side_name(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


# --- §2.2 base proposal -------------------------------------------------------------------------


def base_proposal(params: PmmParams, rules: TradingRules, ref: Decimal) -> list[Proposed]:
    """Levels (or `order_override`), quantized; sizes <= 0 and prices <= 0 are left out."""
    out: list[Proposed] = []
    if params.order_override:
        levels = {Side.BUY: 0, Side.SELL: 0}
        for entry in params.order_override:
            if entry.side is Side.BUY:
                raw = ref * (_ONE - entry.spread)
            elif entry.side is Side.SELL:
                raw = ref * (_ONE + entry.spread)
            else:  # the reference ignores any other side string
                continue
            price = rules.round_price(raw, entry.side)
            size = rules.floor_size(entry.amount)
            if size > 0 and price > 0:
                out.append(Proposed(entry.side, price, size, levels[entry.side]))
                levels[entry.side] += 1
        return out

    for i in range(params.order_levels):
        extra = i * params.order_level_spread
        size = rules.floor_size(params.order_amount + i * params.order_level_amount)
        if size <= 0:
            continue
        price = rules.floor_price(ref * (_ONE - params.bid_spread - extra))
        if price > 0:  # fix §6.13: big spreads x levels could give a price <= 0
            out.append(Proposed(Side.BUY, price, size, i))
    for i in range(params.order_levels):
        extra = i * params.order_level_spread
        size = rules.floor_size(params.order_amount + i * params.order_level_amount)
        if size <= 0:
            continue
        price = rules.ceil_price(ref * (_ONE + params.ask_spread + extra))
        out.append(Proposed(Side.SELL, price, size, i))
    return out


# --- §2.3 price band ----------------------------------------------------------------------------


def apply_price_band(params: PmmParams, ref: Decimal, orders: list[Proposed], notes: list[str]) -> list[Proposed]:
    """No buys when ref >= ceiling, no sells when ref <= floor. Only `ref` is compared (as §2.3)."""
    drop_buys = params.price_ceiling > 0 and ref >= params.price_ceiling
    drop_sells = params.price_floor > 0 and ref <= params.price_floor
    if drop_buys:
        notes.append("price above ceiling: buys suppressed")
    if drop_sells:
        notes.append("price below floor: sells suppressed")
    if not (drop_buys or drop_sells):
        return orders
    return [
        o for o in orders if not ((o.side is Side.BUY and drop_buys) or (o.side is Side.SELL and drop_sells))
    ]


# --- §2.4 order optimization --------------------------------------------------------------------


def own_quote_sizes(orders: Sequence[LiveOrder]) -> tuple[Decimal, Decimal]:
    """Size of the LAST listed buy and sell quote, as the reference does (§2.4).

    We use what is still resting (`remaining`), which is what sits in the book.
    """
    own_buy = ZERO
    own_sell = ZERO
    for o in orders:
        if o.purpose is not OrderPurpose.QUOTE:
            continue
        if o.side is Side.BUY:
            own_buy = o.remaining
        else:
            own_sell = o.remaining
    return own_buy, own_sell


def apply_order_optimization(
    params: PmmParams,
    rules: TradingRules,
    book: OrderBook,
    orders: list[Proposed],
    own_buy: Decimal,
    own_sell: Decimal,
) -> list[Proposed]:
    """Cap a lone bid at one tick above the depth-adjusted top bid, floor a lone ask at one tick
    below the depth-adjusted top ask. Only ever makes quotes less aggressive (as §2.4)."""
    if not params.order_optimization_enabled or params.order_levels > 1:
        return orders
    buys = [o for o in orders if o.side is Side.BUY]
    sells = [o for o in orders if o.side is Side.SELL]
    tick = rules.tick_size
    if len(buys) == 1:
        top_bid = book.price_at_depth(Side.BUY, params.bid_order_optimization_depth + own_buy)
        if top_bid is not None:
            price_above_bid = ceil_to(top_bid, tick) + tick
            b = buys[0]
            buys = [Proposed(b.side, rules.floor_price(min(b.price, price_above_bid)), b.amount, b.level)]
    if len(sells) == 1:
        top_ask = book.price_at_depth(Side.SELL, params.ask_order_optimization_depth + own_sell)
        if top_ask is not None:
            price_below_ask = rules.floor_price(top_ask) - tick
            s = sells[0]
            sells = [Proposed(s.side, rules.ceil_price(max(s.price, price_below_ask)), s.amount, s.level)]
    return buys + sells


# --- inventory limit (`quoting.max_position`, our addition) ----------------------------------


def apply_inventory_limit(
    orders: list[Proposed],
    position: Decimal,
    live_orders: Sequence[LiveOrder],
    max_position: Decimal,
    notes: list[str],
    logs: list[str],
) -> list[Proposed]:
    """Keep an order only if, with every pending order of its side and the kept ones before it
    filled, |position| stays within `max_position`: buys count up from the position, sells down.

    Pending orders are all our unfinished orders on that side, exits included and cancel-pending
    ones too (a cancel can lose the race with a fill).
    """
    pending = {Side.BUY: ZERO, Side.SELL: ZERO}
    for live in live_orders:
        pending[live.side] += live.remaining
    exposure = {Side.BUY: position + pending[Side.BUY], Side.SELL: -position + pending[Side.SELL]}
    kept: list[Proposed] = []
    dropped: set[Side] = set()
    for o in sorted(orders, key=lambda proposed: proposed.level):
        after = exposure[o.side] + o.amount
        if after > max_position:
            dropped.add(o.side)
            logs.append(f"{side_name(o.side)} order (price: {o.price}, size: {o.amount}) would take the position "
                        f"past max_position {max_position}: omitted.")
            continue
        exposure[o.side] = after
        kept.append(o)
    for side in sorted(dropped):
        notes.append(f"{'buys' if side is Side.BUY else 'sells'} suppressed: inventory at max_position {max_position}")
    return [o for o in orders if o in kept]


# --- venue minimums (after the last price change) -----------------------------------------------


def apply_minimums(rules: TradingRules, orders: list[Proposed], notes: list[str], logs: list[str]) -> list[Proposed]:
    """Drop orders with a price <= 0 or below the venue's minimum size / notional."""
    kept: list[Proposed] = []
    for o in orders:
        if o.price > 0 and rules.meets_minimums(o.price, o.amount):
            kept.append(o)
        else:
            logs.append(
                f"{side_name(o.side)} order (price: {o.price}, size: {o.amount}) is below the minimum size "
                f"{rules.min_size} or notional {rules.min_notional}: omitted."
            )
    if orders and not kept:
        notes.append("all orders below the minimum size or notional")
    return kept


# --- §2.5 budget --------------------------------------------------------------------------------


def order_margin(price: Decimal, amount: Decimal, leverage: Decimal, maker_fee: Decimal) -> Decimal:
    """Margin + opening fee an order needs: notional / leverage + notional * maker fee."""
    notional = price * amount
    return notional / leverage + notional * maker_fee


def apply_budget_constraint(
    orders: list[Proposed],
    available: Decimal,
    leverage: int,
    maker_fee: Decimal,
    notes: list[str],
    logs: list[str],
) -> list[Proposed]:
    """All-or-none per order, buys first then sells, locking as it goes (as §2.5)."""
    lev = Decimal(leverage)
    locked = ZERO
    kept: list[Proposed] = []
    omitted = 0
    ordered = [o for o in orders if o.side is Side.BUY] + [o for o in orders if o.side is Side.SELL]
    for o in ordered:
        notional = o.price * o.amount
        collateral = notional / lev
        fee = notional * maker_fee
        free = available - locked
        if free < collateral or free < collateral + fee:
            omitted += 1
            logs.append(f"Insufficient balance: {side_name(o.side)} order (price: {o.price}, size: {o.amount}) "
                        "is omitted.")
            continue
        locked += collateral + fee
        kept.append(o)
    if omitted:
        logs.append("You are also at a possible risk of being liquidated if there happens to be an open loss.")
        if not kept:
            notes.append("insufficient margin: all orders omitted")
    return kept


# --- §2.6 taker filter --------------------------------------------------------------------------


def filter_out_takers(book: OrderBook, orders: list[Proposed], notes: list[str]) -> list[Proposed]:
    """Keep buys strictly below the best ask and sells strictly above the best bid."""
    best_bid = book.best_bid
    best_ask = book.best_ask
    kept = [
        o
        for o in orders
        if (o.side is Side.BUY and (best_ask is None or o.price < best_ask))
        or (o.side is Side.SELL and (best_bid is None or o.price > best_bid))
    ]
    if orders and not kept:
        notes.append("all proposed orders would cross the book")
    return kept


# --- the whole pipeline -------------------------------------------------------------------------


def build_proposal(
    params: PmmParams,
    rules: TradingRules,
    ref: Decimal,
    book: OrderBook,
    live_orders: Sequence[LiveOrder],
    available_margin: Decimal,
    maker_fee: Decimal,
    *,
    base: list[Proposed] | None = None,
    position: Decimal = ZERO,
) -> ProposalResult:
    """Base proposal -> price band -> optimization -> inventory limit -> minimums -> budget ->
    taker filter.

    `available_margin` is what the budget may spend: the caller adds back the margin of the live
    quotes this proposal would replace, so a tolerance comparison is not skewed by our own orders.
    `base` replaces the Hummingbot base proposal (the quoting model's levels); `position` is the
    signed net position the inventory limit (`quoting.max_position`, when set) counts from.
    """
    result = ProposalResult(base if base is not None else base_proposal(params, rules, ref))
    if not result.orders:
        result.notes.append("no orders proposed (order sizes round to zero)")
        return result
    orders = apply_price_band(params, ref, result.orders, result.notes)
    if params.order_optimization_enabled and params.order_levels == 1:
        own_buy, own_sell = own_quote_sizes(live_orders)
        orders = apply_order_optimization(params, rules, book, orders, own_buy, own_sell)
    if params.quoting.max_position is not None:
        orders = apply_inventory_limit(orders, position, live_orders, params.quoting.max_position,
                                       result.notes, result.logs)
    orders = apply_minimums(rules, orders, result.notes, result.logs)
    orders = apply_budget_constraint(orders, available_margin, params.leverage, maker_fee, result.notes, result.logs)
    orders = filter_out_takers(book, orders, result.notes)
    result.orders = orders
    return result
