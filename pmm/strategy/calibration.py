"""Online calibration of the GLFT model from the market's own events (see `glft.py` for units).

Fed by the engine with the maker market's mid (each evaluation) and its public trades; time is
passed in (the injected clock's), so the simulator, live venues and a backtest calibrate alike.

- sigma: realized variance of the mid, sampled at most once per `MID_SAMPLE_S`, over the window:
  sigma^2 = sum((mid_i - mid_{i-1})^2) / (t_last - t_first), in ticks^2 per second. Dividing by the
  elapsed time (not the sample count) keeps it right when samples are irregular.
- A and k per side: a market SELL reaching `delta` ticks below the mid would have filled a bid
  `delta` ticks away (and a BUY an ask above). Over the window, the rate of trades reaching at
  least `d` ticks, lambda(d) = count(reach >= d) / span, is fitted as ln lambda = ln A - k d by
  least squares over a grid of distances. Points where every trade reached (the touch: market
  orders always cross it) carry no information about the decay and are left out, as are points
  with fewer than `MIN_COUNT` trades (their logarithm is noise).
- Until sigma and both sides fit (enough samples, k > 0), `fit()` returns None and the strategy
  quotes with the configured spreads. A refit happens at most every `recalibrate_every_s`.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

from pmm.core.model import Side
from pmm.strategy.glft import Calibrated, Intensity

MID_SAMPLE_S = 1.0
MIN_MID_SAMPLES = 30
MIN_TRADES = 30  # per side
MIN_COUNT = 5  # per grid point
MIN_POINTS = 3
GRID_POINTS = 20
_MAX_TRADES = 200_000  # memory bound for very busy markets; the oldest go first


def fit_intensity(reaches: list[float], span_s: float) -> Intensity | None:
    """A (per second) and k (per tick) from the reach, in ticks, of each trade over `span_s`."""
    total = len(reaches)
    if total < MIN_TRADES or span_s <= 0:
        return None
    ordered = sorted(reaches)
    top = ordered[int(0.95 * (total - 1))]  # the grid covers the bulk, not a lone outlier
    step = float(max(1, round(top / GRID_POINTS)))  # whole ticks: prices sit on the tick grid
    xs: list[float] = []
    ys: list[float] = []
    d = step
    index = 0
    while d <= top:
        while index < total and ordered[index] < d:
            index += 1
        count = total - index
        if MIN_COUNT <= count < total:
            xs.append(d)
            ys.append(math.log(count / span_s))
        d += step
    if len(xs) < MIN_POINTS:
        return None
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    k = -slope
    if k <= 0:
        return None
    return Intensity(a=math.exp(mean_y - slope * mean_x), k=k)


class Calibrator:
    """Rolling window of mids and trades; `fit(now)` refits when due and returns the latest fit."""

    def __init__(self, tick: Decimal, window_s: float, every_s: float) -> None:
        self._tick = float(tick)
        self._window = window_s
        self._every = every_s
        self._mids: deque[tuple[float, float]] = deque()  # (t, mid in ticks)
        self._trades: deque[tuple[float, bool, float]] = deque()  # (t, hits bids, reach in ticks)
        self._first_ts: float | None = None
        self._next_fit = 0.0
        self._fit: Calibrated | None = None
        self.bid: Intensity | None = None  # the latest per-side fits, also when the other failed
        self.ask: Intensity | None = None
        self.sigma: float | None = None

    @property
    def current(self) -> Calibrated | None:
        return self._fit

    def observe_mid(self, mid: Decimal, now: float) -> None:
        if self._first_ts is None:
            self._first_ts = now
        mids = self._mids
        if mids and now - mids[-1][0] < MID_SAMPLE_S:
            return
        mids.append((now, float(mid) / self._tick))

    def observe_trade(self, price: Decimal, aggressor: Side, mid: Decimal | None, now: float) -> None:
        if mid is None:
            return
        if self._first_ts is None:
            self._first_ts = now
        hits_bids = aggressor is Side.SELL
        reach = float(mid - price if hits_bids else price - mid) / self._tick
        if reach < 0:  # printed on the wrong side of the mid (a stale book): no information
            return
        self._trades.append((now, hits_bids, reach))
        if len(self._trades) > _MAX_TRADES:
            self._trades.popleft()

    def _trim(self, now: float) -> None:
        start = now - self._window
        while self._mids and self._mids[0][0] < start:
            self._mids.popleft()
        while self._trades and self._trades[0][0] < start:
            self._trades.popleft()

    def _sigma(self) -> float | None:
        mids = self._mids
        if len(mids) < MIN_MID_SAMPLES:
            return None
        elapsed = mids[-1][0] - mids[0][0]
        if elapsed <= 0:
            return None
        total = 0.0
        previous = mids[0][1]
        for _, mid in mids:
            total += (mid - previous) ** 2
            previous = mid
        return math.sqrt(total / elapsed)

    def fit(self, now: float) -> Calibrated | None:
        """Refit if `recalibrate_every_s` has passed since the last one; the current fit."""
        if now < self._next_fit:
            return self._fit
        self._next_fit = now + self._every
        self._trim(now)
        if self._first_ts is None:
            return None
        span = min(self._window, now - self._first_ts)
        self.sigma = self._sigma()
        self.bid = fit_intensity([r for _, hits_bids, r in self._trades if hits_bids], span)
        self.ask = fit_intensity([r for _, hits_bids, r in self._trades if not hits_bids], span)
        if self.sigma is None or self.bid is None or self.ask is None:
            self._fit = None
        else:
            self._fit = Calibrated(self.sigma, self.bid, self.ask)
        return self._fit
