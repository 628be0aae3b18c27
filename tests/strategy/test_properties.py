"""Properties over random books and parameters: quantized, never crossing, idempotent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_helpers import RULES, T0, book, pending, strategy, view

from pmm.core.model import Side

cents = st.integers(min_value=100, max_value=10_000_000).map(lambda n: Decimal(n) / 100)
spreads = st.integers(min_value=1, max_value=9_999).map(lambda n: Decimal(n) / 10_000)


@settings(max_examples=200, deadline=None)
@given(
    bid=cents,
    gap_ticks=st.integers(min_value=1, max_value=500),
    bid_spread=spreads,
    ask_spread=spreads,
    levels=st.integers(min_value=1, max_value=4),
    level_spread=spreads,
    amount=st.integers(min_value=1, max_value=100_000).map(lambda n: Decimal(n) / 1000),
    optimize=st.booleans(),
)
def test_quotes_are_quantized_non_crossing_and_idempotent(
    bid, gap_ticks, bid_spread, ask_spread, levels, level_spread, amount, optimize
):
    ask = bid + gap_ticks * RULES.tick_size
    ob = book(bids=[(str(bid), "3")], asks=[(str(ask), "3")])
    s = strategy(
        bid_spread=bid_spread,
        ask_spread=ask_spread,
        order_levels=levels,
        order_level_spread=level_spread,
        order_amount=amount,
        order_optimization_enabled=optimize,
    )
    d = s.decide(view(now=T0, ob=ob))
    for o in d.places:
        assert o.price > 0
        assert RULES.is_on_tick(o.price) and RULES.is_on_step(o.amount)
        assert o.amount >= RULES.min_size
        if o.side is Side.BUY:
            assert o.price < ask
        else:
            assert o.price > bid
    again = s.decide(view(now=T0, ob=ob, orders=pending(d, T0)))
    assert again.places == () and again.cancels == ()
