"""The opening-order pipeline: levels, override, band, optimization, minimums, budget, takers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from strategy_helpers import D, RULES, T0, book, live, params, prices, strategy, view

from pmm.core.model import OrderPurpose, OrderType, PositionAction, PositionSide, Side
from pmm.errors import ConfigError
from pmm.strategy import OverrideOrder, PriceSource, build_proposal


def test_reference_example_one_buy_at_50_one_sell_at_140():
    """Reference §7.0 style: mid 100, bid_spread 0.5 / ask_spread 0.4 (50 % / 40 % in YAML)."""
    s = strategy(bid_spread=D("0.5"), ask_spread=D("0.4"), order_amount=D("1.5"))
    d = s.decide(view())
    assert d.ref_price == D("100")
    assert d.ref_price_type == "mid_price"
    assert d.quoting is True and d.reason == ""
    assert [(o.side, o.price, o.amount) for o in d.places] == [
        (Side.BUY, D("50"), D("1.5")),
        (Side.SELL, D("140"), D("1.5")),
    ]
    for o in d.places:
        assert o.order_type is OrderType.LIMIT_MAKER  # post-only opening quotes
        assert o.purpose is OrderPurpose.QUOTE
        assert o.position_action is PositionAction.OPEN
        assert o.position_side is PositionSide.BOTH  # one-way mode
        assert o.reduce_only is False
        assert o.level == 0


def test_multi_level_prices_and_order_level_amount():
    s = strategy(order_levels=3, order_level_spread=D("0.01"), order_level_amount=D("0.5"))
    d = s.decide(view())
    buys = [(o.price, o.amount, o.level) for o in d.places if o.side is Side.BUY]
    sells = [(o.price, o.amount, o.level) for o in d.places if o.side is Side.SELL]
    assert buys == [(D("99"), D("1"), 0), (D("98"), D("1.5"), 1), (D("97"), D("2"), 2)]
    assert sells == [(D("101"), D("1"), 0), (D("102"), D("1.5"), 1), (D("103"), D("2"), 2)]


def test_negative_level_amount_drops_levels_whose_size_reaches_zero():
    s = strategy(order_levels=3, order_level_amount=D("-0.5"))
    d = s.decide(view())
    assert [o.amount for o in d.places if o.side is Side.BUY] == [D("1"), D("0.5")]
    assert [o.amount for o in d.places if o.side is Side.SELL] == [D("1"), D("0.5")]


def test_level_prices_at_or_below_zero_are_dropped():
    """Fix §6.13: the reference has no price > 0 check on level orders."""
    s = strategy(bid_spread=D("0.6"), ask_spread=D("0.6"), order_levels=2, order_level_spread=D("0.5"))
    d = s.decide(view())
    assert prices(d, Side.BUY) == [D("40")]  # 100 * (1 - 1.1) = -10 is dropped
    assert prices(d, Side.SELL) == [D("160"), D("210")]


def test_bids_round_down_and_asks_round_up_to_the_tick():
    ob = book(bids=[("100.00", "1")], asks=[("100.01", "1")])  # mid 100.005
    s = strategy(bid_spread=D("0.001"), ask_spread=D("0.001"))
    d = s.decide(view(ob=ob))
    assert prices(d, Side.BUY) == [D("99.90")]  # 99.904995 floored
    assert prices(d, Side.SELL) == [D("100.11")]  # 100.105005 ceiled (the reference floors: 100.10)


def test_sizes_floor_to_step_and_minimums_drop_orders():
    rules = replace(RULES, min_size=D("0.01"), min_notional=D("10"))
    s = strategy(rules, order_amount=D("0.0999"))  # floors to 0.099: notional ~9.8 < 10
    d = s.decide(view())
    assert d.places == ()
    assert d.quoting is False
    assert "minimum size or notional" in d.reason
    assert any("omitted" in line for line in d.logs)

    s = strategy(rules, order_amount=D("0.1019"))  # 0.101: buy 99 x 0.101 = 9.999 < 10, sell 10.201
    d = s.decide(view())
    assert [(o.side, o.amount) for o in d.places] == [(Side.SELL, D("0.101"))]


def test_order_override_replaces_levels():
    override = (
        OverrideOrder("a", Side.BUY, D("0.02"), D("0.5")),
        OverrideOrder("b", Side.SELL, D("0.03"), D("2")),
        OverrideOrder("c", Side.BUY, D("0.05"), D("1")),
        OverrideOrder("zero", Side.SELL, D("0.04"), D("0")),  # size 0: left out
    )
    s = strategy(order_override=override, order_levels=3)
    d = s.decide(view())
    assert [(o.side, o.price, o.amount, o.level) for o in d.places] == [
        (Side.BUY, D("98"), D("0.5"), 0),  # buys first, in override order (as the reference's lists)
        (Side.BUY, D("95"), D("1"), 1),
        (Side.SELL, D("103"), D("2"), 0),
    ]


def test_price_ceiling_suppresses_buys_and_says_so():
    s = strategy(price_ceiling=D("100"))
    d = s.decide(view())
    assert prices(d, Side.BUY) == []
    assert prices(d, Side.SELL) == [D("101")]
    assert d.quoting is True
    assert d.reason == "price above ceiling: buys suppressed"


def test_price_floor_suppresses_sells():
    s = strategy(price_floor=D("100"))
    d = s.decide(view())
    assert prices(d, Side.SELL) == []
    assert prices(d, Side.BUY) == [D("99")]
    assert "price below floor: sells suppressed" in d.reason


def test_price_band_compares_only_the_reference_price():
    s = strategy(price_ceiling=D("100.01"), price_floor=D("99.99"))
    d = s.decide(view())  # ref 100 inside the band: both sides, even if the orders are outside it
    assert prices(d, Side.BUY) == [D("99")] and prices(d, Side.SELL) == [D("101")]


def test_ceiling_below_floor_is_a_config_error():
    with pytest.raises(ConfigError, match="price_ceiling cannot be lower than price_floor"):
        strategy(price_ceiling=D("90"), price_floor=D("100"))


# --- order optimization (§2.4) --------------------------------------------------------------------

OPT_BOOK = dict(bids=[("99.5", "1"), ("99.0", "5")], asks=[("100.5", "1"), ("101.0", "5")])


def test_optimization_caps_bid_one_tick_above_top_bid_and_ask_one_tick_below_top_ask():
    s = strategy(order_optimization_enabled=True, bid_spread=D("0.001"), ask_spread=D("0.001"))
    d = s.decide(view(ob=book(**OPT_BOOK)))
    assert prices(d, Side.BUY) == [D("99.51")]  # proposed 99.9, capped at best bid + 1 tick
    assert prices(d, Side.SELL) == [D("100.49")]  # proposed 100.1, floored at best ask - 1 tick


def test_optimization_depth_skips_volume():
    s = strategy(
        order_optimization_enabled=True,
        bid_spread=D("0.001"),
        ask_spread=D("0.001"),
        bid_order_optimization_depth=D("2"),
        ask_order_optimization_depth=D("2"),
    )
    d = s.decide(view(ob=book(**OPT_BOOK)))
    assert prices(d, Side.BUY) == [D("99.01")]
    assert prices(d, Side.SELL) == [D("100.99")]


def test_optimization_never_improves_a_deep_quote():
    s = strategy(order_optimization_enabled=True, bid_spread=D("0.02"), ask_spread=D("0.02"))
    d = s.decide(view(ob=book(**OPT_BOOK)))
    assert prices(d, Side.BUY) == [D("98")] and prices(d, Side.SELL) == [D("102")]


def test_optimization_excludes_own_resting_size():
    """Our own 1.0 sits alone at 99.5: the depth searched grows by it, so the top bid is 99.0."""
    p = params(order_optimization_enabled=True, bid_spread=D("0.001"), ask_spread=D("0.001"),
               bid_order_optimization_depth=D("0.5"))
    ob = book(**OPT_BOOK)
    without_own = build_proposal(p, RULES, D("100"), ob, [], D("1000000"), D("0"))
    assert [o.price for o in without_own.orders if o.side is Side.BUY] == [D("99.51")]
    own = [live("b", Side.BUY, "99.5", "1")]
    with_own = build_proposal(p, RULES, D("100"), ob, own, D("1000000"), D("0"))
    assert [o.price for o in with_own.orders if o.side is Side.BUY] == [D("99.01")]


def test_optimization_is_skipped_with_more_than_one_level():
    s = strategy(order_optimization_enabled=True, bid_spread=D("0.001"), ask_spread=D("0.001"), order_levels=2)
    d = s.decide(view(ob=book(**OPT_BOOK)))
    assert prices(d, Side.BUY)[0] == D("99.9")


# --- budget (§2.5) ----------------------------------------------------------------------------


def test_budget_all_or_none_buys_first():
    # leverage 10, fee 0.1 %: buy 99 needs 9.9 + 0.099 = 9.999; sell 101 needs 10.201
    s = strategy()
    d = s.decide(view(margin="15", fee="0.001"))
    assert prices(d, Side.BUY) == [D("99")]
    assert prices(d, Side.SELL) == []
    assert all(o.amount == D("1") for o in d.places)  # never resized
    assert any("Insufficient balance: SELL order" in line and "omitted" in line for line in d.logs)


def test_budget_exact_requirement_is_enough():
    s = strategy(ask_spread=D("0.5"), price_floor=D("1000"))  # floor kills the sells
    d = s.decide(view(margin="9.999", fee="0.001"))
    assert prices(d, Side.BUY) == [D("99")]


def test_budget_starves_sells_with_levels():
    # buys 99 (9.999) + 98 (9.898) = 19.897 locked; 5.103 left < 10.201 for the first sell
    s = strategy(order_levels=2)
    d = s.decide(view(margin="25", fee="0.001"))
    assert prices(d, Side.BUY) == [D("99"), D("98")]
    assert prices(d, Side.SELL) == []
    assert sum("Insufficient balance: SELL" in line for line in d.logs) == 2


def test_budget_all_omitted_reason():
    s = strategy()
    d = s.decide(view(margin="5", fee="0.001"))
    assert d.places == ()
    assert d.quoting is False
    assert d.reason == "insufficient margin: all orders omitted"


# --- taker filter (§2.6) ------------------------------------------------------------------------


def test_taker_filter_drops_buys_at_or_above_best_ask():
    s = strategy(price_source=PriceSource.CUSTOM_API)
    d = s.decide(view(custom_price=D("200")))  # buy 198 >= best ask 100.5; sell 202 > best bid
    assert prices(d, Side.BUY) == []
    assert prices(d, Side.SELL) == [D("202")]


def test_taker_filter_drops_sells_at_or_below_best_bid():
    s = strategy(price_source=PriceSource.CUSTOM_API, bid_spread=D("0.005"), ask_spread=D("0.005"))
    d = s.decide(view(custom_price=D("99")))  # sell 99.495 -> 99.50 <= best bid 99.5
    assert prices(d, Side.SELL) == []
    assert prices(d, Side.BUY) == [D("98.50")]


def test_all_orders_crossing_reason():
    s = strategy(price_source=PriceSource.CUSTOM_API, price_floor=D("500"))
    d = s.decide(view(custom_price=D("200")))  # sells suppressed by the floor; the buy crosses
    assert d.places == ()
    assert d.quoting is False
    assert "all proposed orders would cross the book" in d.reason


def test_hedge_mode_quote_position_sides():
    from pmm.core.model import PositionMode

    s = strategy(position_mode=PositionMode.HEDGE)
    d = s.decide(view(now=T0))
    sides = {o.side: o.position_side for o in d.places}
    assert sides == {Side.BUY: PositionSide.LONG, Side.SELL: PositionSide.SHORT}
    assert all(o.order_type is OrderType.LIMIT_MAKER and not o.reduce_only for o in d.places)
