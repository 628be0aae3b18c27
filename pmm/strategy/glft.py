"""The GLFT quoting model: calibrated market state in, bid and ask prices out. Pure functions.

Source: O. Guéant, C.-A. Lehalle, J. Fernandez-Tapia, "Dealing with the inventory risk: a
solution to the market making problem" (2013), and O. Guéant, "Optimal market making" (2017,
arXiv:1605.01862) equations (4.6) and (4.7), the closed-form approximation for a long horizon
(no terminal time: suits perpetual contracts), as used by hftbacktest's "GLFT market making
model and grid trading" tutorial. With the risk aversion `xi = gamma` (the paper's "xi = gamma"
case):

    c1 = 1/(gamma*Delta) * ln(1 + gamma*Delta/k)
    c2 = sqrt( gamma/(2*A*Delta*k) * (1 + gamma*Delta/k)^(k/(gamma*Delta) + 1) )
    half_spread = c1 + Delta/2 * sigma * c2
    skew        = sigma * c2                         (per unit of inventory q)
    bid = fair - (half_spread + skew*q)
    ask = fair + (half_spread - skew*q)

Units, as in hftbacktest: prices and distances in TICKS of the market, time in SECONDS, sizes in
ORDERS (`q` = signed position / `order_amount`, `Delta` = 1 order). So `sigma` is ticks per
sqrt(second) (the standard deviation of mid changes over one second), the fill intensity of a
quote `delta` ticks from the mid is `A * exp(-k * delta)` fills per second (`A` per second, `k`
per tick), and `gamma` (the config's `risk_aversion`) is per tick and per order. The intensity is
calibrated per side (`calibration.py`), so the bid uses the bid side's A and k and the ask the
ask side's. The model works in floats (logs and square roots); the prices it returns are rounded
to the venue's tick by the proposal, never used as money.

Minimum half-spread: the configured `bid_spread` / `ask_spread` (fractions of the fair price)
floor each side's half-spread before the skew is applied, so a quiet market never makes the
model quote tighter than the user asked; the skew and the funding shift still move both quotes.

Funding carry (our addition). A position of q base units held through the next settlement pays
`q * rate * mark` (received when negative; with a positive rate longs pay). Holding inventory
now does not mean holding it at the settlement: the further away the settlement, the more
likely the inventory has turned over by then. Model the expected cost of the inventory held
now as that payment weighted by how close the settlement is,

    C(q, t) = w(t) * q * rate * mark,   w(t) = 1 - tau/I   (clamped to [0, 1]),

with `tau` the time left to the settlement and `I` the funding interval: w grows linearly from 0
just after a settlement to 1 just before the next. The reservation price is the price at which
the maker is indifferent to one more unit of inventory: fair value minus the marginal cost of
holding it, r = fair - dC/dq = fair - w * rate * mark. So both quotes shift by

    funding_shift = - w * rate * mark      (quote currency per base unit; price units)

A positive rate gives a negative shift: both quotes move down, the bid fills less and the ask
more, so the bot leans short before the settlement (and long with a negative rate). The shift is
at most one settlement's payment per unit, which is what a unit held through it costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Intensity:
    """Fill intensity `a * exp(-k * delta)` of one side: a per second, k per tick."""

    a: float
    k: float


@dataclass(frozen=True, slots=True)
class Calibrated:
    """What the model needs from the market: sigma in ticks per sqrt(second), and per side the
    intensity of market trades reaching our bids (sells) and our asks (buys)."""

    sigma: float
    bid: Intensity
    ask: Intensity


@dataclass(frozen=True, slots=True)
class ModelQuote:
    """The model's output, in price units (quote currency per base unit) unless said."""

    fair: float
    reservation: float  # fair - mean skew * q + funding_shift: the centre of the quotes
    bid: float
    ask: float
    half_spread_bid: float  # price units, after the minimum half-spread
    half_spread_ask: float
    skew_bid: float  # price units per order of inventory
    skew_ask: float
    funding_shift: float  # price units; negative leans short
    q: float  # inventory in orders


def glft_coefficients(gamma: float, delta: float, intensity: Intensity) -> tuple[float, float]:
    """(c1, c2) of one side: c1 in ticks, c2 in sqrt(seconds) (so sigma * c2 is in ticks)."""
    a, k = intensity.a, intensity.k
    x = gamma * delta / k
    c1 = math.log1p(x) / (gamma * delta)
    c2 = math.sqrt(gamma / (2.0 * a * delta * k) * (1.0 + x) ** (k / (gamma * delta) + 1.0))
    return c1, c2


def funding_weight(time_to_settlement_s: float, interval_s: float) -> float:
    """w = 1 - tau/I, clamped to [0, 1]: 0 right after a settlement, 1 right before the next."""
    if interval_s <= 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - time_to_settlement_s / interval_s))


def funding_shift(rate: float, mark: float, time_to_settlement_s: float, interval_s: float) -> float:
    """The reservation price's shift from the funding carry (see the module docstring)."""
    return -funding_weight(time_to_settlement_s, interval_s) * rate * mark


def glft_quote(
    calibrated: Calibrated,
    *,
    fair: float,
    tick: float,
    q: float,
    gamma: float,
    min_half_spread_bid: float = 0.0,
    min_half_spread_ask: float = 0.0,
    shift: float = 0.0,
    delta: float = 1.0,
) -> ModelQuote:
    """Bid and ask around `fair` for inventory `q` (orders). `tick`, `fair`, the minimum
    half-spreads and `shift` are in price units; `calibrated` is in ticks (see above)."""
    sigma = calibrated.sigma
    c1_b, c2_b = glft_coefficients(gamma, delta, calibrated.bid)
    c1_a, c2_a = glft_coefficients(gamma, delta, calibrated.ask)
    half_b = max((c1_b + delta / 2.0 * sigma * c2_b) * tick, min_half_spread_bid)
    half_a = max((c1_a + delta / 2.0 * sigma * c2_a) * tick, min_half_spread_ask)
    skew_b = sigma * c2_b * tick
    skew_a = sigma * c2_a * tick
    bid = fair - (half_b + skew_b * q) + shift
    ask = fair + (half_a - skew_a * q) + shift
    reservation = fair - (skew_b + skew_a) / 2.0 * q + shift
    return ModelQuote(fair, reservation, bid, ask, half_b, half_a, skew_b, skew_a, shift, q)
