"""The GLFT model against values worked by hand from the formulas (Guéant 2017, eq. 4.6/4.7)."""

from __future__ import annotations

import math

import pytest

from pmm.strategy.glft import Calibrated, Intensity, funding_shift, funding_weight, glft_quote

# sigma 2 ticks/sqrt(s), A 1.5 /s, k 0.5 /tick, gamma 0.1, Delta 1, q 3 orders, tick 0.01, fair 100.
# By hand: gamma*Delta/k = 0.2, so c1 = ln(1.2)/0.1; k/(gamma*Delta) + 1 = 6 and 1.2^6 = 2.985984,
# so c2^2 = 0.1/(2*1.5*1*0.5) * 2.985984 = 0.1990656.
C1 = math.log(1.2) / 0.1
C2 = math.sqrt(0.1990656)
HALF = C1 + 0.5 * 2 * C2  # ticks
SKEW = 2 * C2  # ticks per order
SAME = Intensity(a=1.5, k=0.5)


def test_quotes_match_the_formulas_worked_by_hand() -> None:
    quote = glft_quote(Calibrated(2.0, SAME, SAME), fair=100.0, tick=0.01, q=3.0, gamma=0.1)
    assert quote.half_spread_bid == pytest.approx(HALF * 0.01, rel=1e-12)
    assert quote.skew_bid == pytest.approx(SKEW * 0.01, rel=1e-12)
    # bid = fair - (half + skew*q), ask = fair + (half - skew*q), in ticks of 0.01
    assert quote.bid == pytest.approx(100 - (HALF + SKEW * 3) * 0.01, rel=1e-12)
    assert quote.ask == pytest.approx(100 + (HALF - SKEW * 3) * 0.01, rel=1e-12)
    # the numbers themselves: c1 = 1.8232155..., c2 = 0.4461676...
    assert quote.bid == pytest.approx(99.950536, abs=1e-6)
    assert quote.ask == pytest.approx(99.995924, abs=1e-6)
    assert quote.reservation == pytest.approx(100 - SKEW * 3 * 0.01, rel=1e-12)


def test_flat_inventory_quotes_symmetrically_and_short_inventory_leans_up() -> None:
    flat = glft_quote(Calibrated(2.0, SAME, SAME), fair=100.0, tick=0.01, q=0.0, gamma=0.1)
    assert 100 - flat.bid == pytest.approx(flat.ask - 100)
    short = glft_quote(Calibrated(2.0, SAME, SAME), fair=100.0, tick=0.01, q=-2.0, gamma=0.1)
    assert short.bid > flat.bid and short.ask > flat.ask  # short: buy back more eagerly


def test_each_side_uses_its_own_intensity() -> None:
    # a slower decay on the ask (k 0.25): x = 0.4, c1 = ln(1.4)/0.1, c2^2 = 0.1/(2*1.5*0.25) * 1.4^3.5
    quote = glft_quote(Calibrated(2.0, SAME, Intensity(1.5, 0.25)), fair=100.0, tick=0.01, q=0.0, gamma=0.1)
    c1, c2 = math.log(1.4) / 0.1, math.sqrt(0.1 / 0.75 * 1.4**3.5)
    assert quote.ask == pytest.approx(100 + (c1 + c2 * 2 / 2) * 0.01, rel=1e-12)
    assert quote.bid == pytest.approx(100 - HALF * 0.01, rel=1e-12)


def test_minimum_half_spread_floors_the_model_but_not_the_skew() -> None:
    quote = glft_quote(Calibrated(2.0, SAME, SAME), fair=100.0, tick=0.01, q=1.0, gamma=0.1,
                       min_half_spread_bid=0.5, min_half_spread_ask=0.5)
    assert quote.bid == pytest.approx(100 - 0.5 - SKEW * 0.01, rel=1e-12)
    assert quote.ask == pytest.approx(100 + 0.5 - SKEW * 0.01, rel=1e-12)


def test_funding_shift_sign_and_size() -> None:
    # rate 0.01% per 8 h, mark 65000, 2 h to the settlement: w = 1 - 2/8 = 0.75, shift = -0.75 * 6.5
    assert funding_weight(2 * 3600, 8 * 3600) == 0.75
    assert funding_shift(0.0001, 65000.0, 2 * 3600, 8 * 3600) == pytest.approx(-4.875)
    assert funding_shift(-0.0001, 65000.0, 2 * 3600, 8 * 3600) == pytest.approx(4.875)
    # just after a settlement nothing; just before, the whole payment per unit
    assert funding_shift(0.0001, 65000.0, 8 * 3600, 8 * 3600) == 0
    assert funding_shift(0.0001, 65000.0, 0.0, 8 * 3600) == pytest.approx(-6.5)


def test_positive_funding_moves_both_quotes_down() -> None:
    cal = Calibrated(2.0, SAME, SAME)
    plain = glft_quote(cal, fair=65000.0, tick=0.1, q=0.0, gamma=0.1)
    shifted = glft_quote(cal, fair=65000.0, tick=0.1, q=0.0, gamma=0.1,
                         shift=funding_shift(0.0001, 65000.0, 2 * 3600, 8 * 3600))
    assert shifted.bid == pytest.approx(plain.bid - 4.875)
    assert shifted.ask == pytest.approx(plain.ask - 4.875)
    assert shifted.funding_shift == pytest.approx(-4.875)
