"""`quoting: glft` in the strategy: quoting while in position, the inventory limit, the model's prices."""

from __future__ import annotations

import math
import random

from pmm.core.model import OrderPurpose, PositionSide, Side
from pmm.strategy.params import QuotingModel, QuotingParams
from pmm.strategy.proposal import Proposed, apply_inventory_limit
from tests.strategy.strategy_helpers import D, T0, live, position, prices, strategy, view

GLFT = QuotingParams(model=QuotingModel.GLFT, max_position=D("2"))


def test_inventory_limit_counts_pending_same_side_orders() -> None:
    orders = [Proposed(Side.BUY, D("99"), D("1"), 0), Proposed(Side.SELL, D("101"), D("1"), 0)]
    notes: list[str] = []
    # long 0.5 and no pending buy: 0.5 + 1 <= 2, both sides stay
    kept = apply_inventory_limit(orders, D("0.5"), [], D("2"), notes, [])
    assert [o.side for o in kept] == [Side.BUY, Side.SELL]
    # the same with a pending buy of 1: 0.5 + 1 + 1 > 2, the buy goes
    pending = [live("b1", Side.BUY, "98", "1", purpose=OrderPurpose.EXTERNAL)]
    kept = apply_inventory_limit(orders, D("0.5"), pending, D("2"), notes, [])
    assert [o.side for o in kept] == [Side.SELL]
    assert any("buys suppressed" in n for n in notes)


def test_hummingbot_model_stops_quoting_in_position() -> None:
    s = strategy(long_profit_taking_spread=D("0.01"))
    d = s.decide(view(positions=[position(PositionSide.LONG, "1", "100")]))
    assert not d.quoting
    assert all(p.purpose is not OrderPurpose.QUOTE for p in d.places)


def test_glft_quotes_both_sides_in_position_beside_its_take_profit() -> None:
    s = strategy(long_profit_taking_spread=D("0.01"), quoting=GLFT)
    d = s.decide(view(positions=[position(PositionSide.LONG, "0.5", "100")]))
    assert d.quoting
    quotes = [p for p in d.places if p.purpose is OrderPurpose.QUOTE]
    assert {p.side for p in quotes} == {Side.BUY, Side.SELL}
    assert any(p.purpose is OrderPurpose.TAKE_PROFIT for p in d.places)
    # not calibrated yet: the configured 1 % spreads around the 100 mid
    assert prices(d, Side.BUY) == [D("99.00")]


def test_glft_does_not_quote_the_side_past_max_position() -> None:
    # short 1.5 with a take-profit buy of 1.5 resting: buying 1 more reaches -1.5 + 1.5 + 1 = 1 <= 2;
    # selling 1 more would reach 1.5 + 1 = 2.5 > 2
    tp = live("tp", Side.BUY, "99", "1.5", purpose=OrderPurpose.TAKE_PROFIT)
    s = strategy(short_profit_taking_spread=D("0.01"), quoting=GLFT)
    d = s.decide(view(positions=[position(PositionSide.SHORT, "1.5", "100")], orders=[tp]))
    quotes = [p for p in d.places if p.purpose is OrderPurpose.QUOTE]
    assert [p.side for p in quotes] == [Side.BUY]
    assert "sells suppressed" in d.reason


def test_glft_prices_come_from_the_model_once_calibrated() -> None:
    s = strategy(quoting=QuotingParams(model=QuotingModel.GLFT, max_position=D("5"), funding_skew=False),
                 bid_spread=D("0.0001"), ask_spread=D("0.0001"))
    # 10 minutes of a market: the book's mid 100 every second, trades reaching Exp(0.02) ticks
    rng = random.Random(5)
    for second in range(600):
        now = T0 + second
        s.still_idle(view(now=now))  # observes the 99.5 x 100.5 book: mid 100, sigma 0
        for side in (Side.BUY, Side.SELL):
            reach = int(rng.expovariate(0.02))
            price = D(100) + D("0.01") * reach if side is Side.BUY else D(100) - D("0.01") * reach
            s.on_market_trade(price, side, D(100), now)
    d = s.decide(view(now=T0 + 600))
    status = s.model_status(())
    assert status is not None and status["calibrated"]
    # sigma 0 here: half-spread = c1 = ln(1 + gamma/k)/gamma ticks, with k fitted near 0.02
    k = float(status["bid_k_per_tick"])
    expected_bid = 100 - (math.log(1 + 0.1 / k) / 0.1) * 0.01
    assert abs(float(prices(d, Side.BUY)[0]) - expected_bid) <= 0.011  # one tick of rounding
