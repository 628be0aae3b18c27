from decimal import Decimal as D

import pytest

from pmm.core.model import PositionSide, Side, TradingRules, ceil_to, floor_to


@pytest.mark.parametrize(("value", "step", "floor", "ceil"), [
    (D("100.37"), D("0.5"), D("100.0"), D("100.5")),
    (D("100.5"), D("0.5"), D("100.5"), D("100.5")),
    (D("0.0123"), D("0.001"), D("0.012"), D("0.013")),
    (D("65000.05"), D("0.1"), D("65000.0"), D("65000.1")),
    (D("7"), D("2.5"), D("5.0"), D("7.5")),
])
def test_floor_and_ceil_work_for_steps_that_are_not_powers_of_ten(value, step, floor, ceil):
    assert floor_to(value, step) == floor
    assert ceil_to(value, step) == ceil


def test_rules_round_bids_down_asks_up_sizes_down():
    rules = TradingRules("BTC-USDT", "BTC", "USDT", tick_size=D("0.5"), step_size=D("0.001"),
                         min_size=D("0.001"), min_notional=D("5"), max_leverage=50)
    assert rules.round_price(D("100.3"), Side.BUY) == D("100.0")
    assert rules.round_price(D("100.3"), Side.SELL) == D("100.5")
    assert rules.floor_size(D("0.0199")) == D("0.019")
    assert rules.meets_minimums(D("100"), D("0.05"))
    assert not rules.meets_minimums(D("100"), D("0.04"))  # notional 4 < 5
    assert not rules.meets_minimums(D("100000"), D("0.0005"))  # below min size
    assert rules.is_on_tick(D("101.5")) and not rules.is_on_tick(D("101.2"))


def test_closing_side_of_positions():
    assert PositionSide.LONG.closing_side is Side.SELL
    assert PositionSide.SHORT.closing_side is Side.BUY
    assert Side.BUY.opposite is Side.SELL
