"""Online calibration recovers the sigma, A and k of a market whose parameters are known."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from pmm.core.events import BookSnapshot, Trade
from pmm.core.model import Side
from pmm.sim.generators import SyntheticSource
from pmm.sim.settings import SimMarketSettings, SyntheticMarket
from pmm.strategy.calibration import Calibrator, fit_intensity

T0 = 1_767_225_600.0
TICK = Decimal("0.1")


def _draw_market(calibrator: Calibrator, a: float, k: float, sigma: float, seconds: int, seed: int) -> None:
    """Mid a random walk of sigma ticks per sqrt(s) sampled each second; per side, Poisson trades
    at rate a whose reach is floor(Exp(k)) whole ticks (so P(reach >= d) = exp(-k d))."""
    rng = random.Random(seed)
    mid_ticks = 650_000.0
    for second in range(seconds):
        now = T0 + second
        mid_ticks = round(mid_ticks + sigma * rng.gauss(0.0, 1.0))
        mid = TICK * int(mid_ticks)
        calibrator.observe_mid(mid, now)
        for side in (Side.BUY, Side.SELL):
            for _ in range(_poisson(rng, a)):
                reach = math.floor(rng.expovariate(k))
                price = mid + TICK * reach if side is Side.BUY else mid - TICK * reach
                calibrator.observe_trade(price, side, mid, now + 0.5)


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


@pytest.mark.parametrize(("a", "k"), [(0.25, 0.1), (1.0, 0.5)])
def test_recovers_a_and_k_within_tolerance(a: float, k: float) -> None:
    # Tolerance: k within 15 %, A within 30 % (A is exp of an intercept, so its error is larger);
    # with ~900..3600 trades per side over an hour the fit's own error is a few percent.
    calibrator = Calibrator(TICK, window_s=3600, every_s=5)
    _draw_market(calibrator, a, k, sigma=3.0, seconds=3600, seed=7)
    fit = calibrator.fit(T0 + 3600)
    assert fit is not None
    for side in (fit.bid, fit.ask):
        assert side.k == pytest.approx(k, rel=0.15)
        assert side.a == pytest.approx(a, rel=0.30)
    assert fit.sigma == pytest.approx(3.0, rel=0.10)


def test_not_calibrated_until_enough_data_and_refits_only_when_due() -> None:
    calibrator = Calibrator(TICK, window_s=600, every_s=5)
    _draw_market(calibrator, 0.5, 0.2, sigma=3.0, seconds=20, seed=1)
    assert calibrator.fit(T0 + 20) is None  # 20 mid samples, about 10 trades a side
    _draw_market(calibrator, 0.5, 0.2, sigma=3.0, seconds=300, seed=2)
    assert calibrator.fit(T0 + 22) is None  # within recalibrate_every_s of the last fit: not refitted
    assert calibrator.fit(T0 + 300) is not None


def test_touch_only_trades_give_no_decay() -> None:
    # every trade at the same distance: nothing to fit
    assert fit_intensity([1.0] * 500, 600.0) is None


def test_synthetic_market_reach_is_recovered() -> None:
    """The simulator's own A (half the trade rate, per side) and k (1 / trade_reach_ticks)."""
    config = SyntheticMarket(trade_rate_per_min=60.0, trade_reach_ticks=Decimal(10), volatility=Decimal("0.001"))
    market = SimMarketSettings(market="BTC-USDT", generator=config, tick_size=TICK)
    source = SyntheticSource(market, config, random.Random(3), 8 * 3600.0)
    source.start(T0)
    calibrator = Calibrator(TICK, window_s=7200, every_s=5)
    mid: Decimal | None = None
    while (t := source.next_time()) is not None and t < T0 + 7200:
        for item in source.step():
            if isinstance(item, BookSnapshot):
                mid = (item.bids[0][0] + item.asks[0][0]) / 2
                calibrator.observe_mid(mid, t)
            elif isinstance(item, Trade):
                calibrator.observe_trade(item.price, item.aggressor, mid, t)
    fit = calibrator.fit(T0 + 7200)
    assert fit is not None
    for side in (fit.bid, fit.ask):
        assert side.k == pytest.approx(0.1, rel=0.15)
        assert side.a == pytest.approx(0.5, rel=0.30)
