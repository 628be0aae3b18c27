"""Our orders against the market: taker walks, maker fills by trade-through and by book crossing.

The market is exogenous: our fills never change the public book (the next snapshot or delta says
what the book is). Each function only decides who fills how much at which price and hands every
fill to `execute(order, price, qty, liquidity) -> qty actually filled` (the exchange's accounting,
which may clip a reduce-only order and close orders that are done).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from pmm.core.events import Level
from pmm.core.model import Liquidity, OrderType, Side
from pmm.sim.orders import SimOrder

Execute = Callable[[SimOrder, Decimal, Decimal, Liquidity], Decimal]


def crosses(order: SimOrder, price: Decimal) -> bool:
    """Would our order trade with liquidity (or a trade) at `price`?"""
    assert order.price is not None
    return price <= order.price if order.side is Side.BUY else price >= order.price


def take_liquidity(order: SimOrder, levels: Iterable[Level], execute: Execute) -> None:
    """Walk the opposite side best first as taker, at book prices, until done or past the limit."""
    limited = order.order_type is not OrderType.MARKET
    for price, size in levels:
        if limited and not crosses(order, price):
            return
        remaining = order.remaining
        qty = size if size < remaining else remaining
        filled = execute(order, price, qty, Liquidity.TAKER)
        if filled < qty or not order.is_open or order.remaining <= 0:
            return  # clipped (reduce-only), cancelled, or done


def fill_from_trade(resting: list[SimOrder], price: Decimal, amount: Decimal, execute: Execute) -> None:
    """A market trade at `price` fills our passive orders it reached, best first, up to `amount`.

    `resting` is the side the aggressor hit: our bids for a sell aggressor, asks for a buy.
    """
    for order in tuple(resting):  # execute() removes finished orders from `resting`
        if amount <= 0 or not crosses(order, price):
            return  # best first: once one does not cross, none after it does
        if not order.is_open:
            continue
        remaining = order.remaining
        amount -= execute(order, order.price, remaining if remaining < amount else amount, Liquidity.MAKER)


def fill_from_levels(resting: list[SimOrder], levels: Iterable[Level], execute: Execute) -> None:
    """The book moved through our resting orders: they fill at OUR price from the crossing levels.

    `levels` is the opposite side best first (only the liquidity that may be consumed: the whole
    side after a snapshot, the changed levels after a delta). A level is consumed by our orders in
    priority order and is not reused.
    """
    it = iter(levels)
    level_price, level_left = Decimal(0), Decimal(0)
    while level_left <= 0:  # skip empty levels (a size-0 entry only deletes a level)
        level = next(it, None)
        if level is None:
            return
        level_price, level_left = level
    for order in tuple(resting):
        if not order.is_open:
            continue
        while order.is_open and order.remaining > 0:
            if not crosses(order, level_price):
                return  # the best remaining level does not reach this order nor any after it
            remaining = order.remaining
            qty = remaining if remaining < level_left else level_left
            filled = execute(order, order.price, qty, Liquidity.MAKER)  # type: ignore[arg-type]
            level_left -= filled
            while level_left <= 0:
                level = next(it, None)
                if level is None:
                    return
                level_price, level_left = level
            if filled < qty:
                break  # clipped or cancelled: next order
