"""Refresh timers, the refresh tolerance and the minimum-spread rule (reference §2.8, §2.9, §2.11).

The two timestamps are kept exactly like the reference's `_create_timestamp` and
`_cancel_timestamp`; only their triggers differ (a timer event instead of a 1 s tick, and any fill,
partial or complete, starts `filled_order_delay`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pmm.core.model import Side
from pmm.strategy.proposal import Proposed
from pmm.strategy.views import LiveOrder


class Timers:
    """`create_ts`: no new opening orders before it. `cancel_ts`: live quotes are kept until it."""

    __slots__ = ("create_ts", "cancel_ts", "fill_delay_until")

    def __init__(self) -> None:
        self.create_ts = 0.0
        self.cancel_ts = 0.0
        # create_ts as last set by a fill: tells "waiting filled_order_delay" from a plain refresh
        self.fill_delay_until = 0.0

    def set_timers(self, now: float, refresh_time: float) -> None:
        """The reference's `set_timers`: after creating orders, or when keeping them."""
        nxt = now + refresh_time
        if self.create_ts <= now:
            self.create_ts = nxt
        if self.cancel_ts <= now:
            self.cancel_ts = min(self.create_ts, nxt)

    def on_fill(self, now: float, filled_order_delay: float) -> None:
        """Any fill of ours: no new opening orders for `filled_order_delay`; refresh no later."""
        self.create_ts = now + filled_order_delay
        self.cancel_ts = min(self.cancel_ts, self.create_ts)
        self.fill_delay_until = self.create_ts


def _side_within(current: list[Decimal], proposed: list[Decimal], tolerance: Decimal) -> bool:
    if len(current) != len(proposed):
        return False
    current.sort()
    proposed.sort()
    for cur, new in zip(current, proposed, strict=True):  # equal lengths, checked above
        if cur <= 0 or abs(new - cur) / cur > tolerance:
            return False
    return True


def within_tolerance(live: Sequence[LiveOrder], proposal: Sequence[Proposed], tolerance: Decimal) -> bool:
    """True iff, on each side, the sorted live and proposed prices pair up within `tolerance`.

    As the reference: prices only (not sizes), counts must match, an empty side matches an empty
    side, and a negative tolerance never matches (always refresh).
    """
    if tolerance < 0:
        return False
    cur_buys = [o.price for o in live if o.side is Side.BUY]
    cur_sells = [o.price for o in live if o.side is Side.SELL]
    new_buys = [p.price for p in proposal if p.side is Side.BUY]
    new_sells = [p.price for p in proposal if p.side is Side.SELL]
    return _side_within(cur_buys, new_buys, tolerance) and _side_within(cur_sells, new_sells, tolerance)


def below_min_spread(order: LiveOrder, ref: Decimal, minimum_spread: Decimal) -> bool:
    """The reference's §2.9 test: the order's spread from `ref` is below `minimum_spread`."""
    if order.side is Side.BUY:
        spread = (ref - order.price) / ref
    else:
        spread = (order.price - ref) / ref
    return spread < minimum_spread
