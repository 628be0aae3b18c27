"""The `quoting:` section in the proposal: GLFT base prices and the inventory limit.

`GlftQuoter` owns the calibrator and turns the calibrated state and the view into a `ModelQuote`
(`glft.glft_quote`, pure); `model_base_proposal` lays the usual levels around it. The rest of the
pipeline (price band, order optimization, minimums, margin budget, taker filter) then applies to
these prices exactly as to Hummingbot's. `apply_inventory_limit` drops the orders that would take
the position plus the pending same-side orders past `max_position`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.core.model import ZERO, Position, Side, TradingRules
from pmm.strategy.calibration import Calibrator
from pmm.strategy.glft import ModelQuote, funding_shift, glft_quote
from pmm.strategy.params import PmmParams
from pmm.strategy.proposal import Proposed
from pmm.strategy.views import StrategyView


def net_position(positions: Sequence[Position], market: str) -> Decimal:
    """Signed base units: longs positive, shorts negative (hedge-mode legs net out)."""
    return sum((p.signed_amount for p in positions if p.market == market), ZERO)


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def model_base_proposal(params: PmmParams, rules: TradingRules, quote: ModelQuote) -> list[Proposed]:
    """Levels around the model's bid and ask: level i is `i * order_level_spread * fair` further
    out and `i * order_level_amount` bigger, as the Hummingbot levels are around the reference."""
    out: list[Proposed] = []
    bid, ask, fair = _dec(quote.bid), _dec(quote.ask), _dec(quote.fair)
    for i in range(params.order_levels):
        size = rules.floor_size(params.order_amount + i * params.order_level_amount)
        if size <= 0:
            continue
        price = rules.floor_price(bid - i * params.order_level_spread * fair)
        if price > 0:
            out.append(Proposed(Side.BUY, price, size, i))
    for i in range(params.order_levels):
        size = rules.floor_size(params.order_amount + i * params.order_level_amount)
        if size <= 0:
            continue
        price = rules.ceil_price(ask + i * params.order_level_spread * fair)
        if price > 0:
            out.append(Proposed(Side.SELL, price, size, i))
    return out


class GlftQuoter:
    """Calibration plus the model, for one market; remembers its last output for `status`."""

    def __init__(self, params: PmmParams, rules: TradingRules) -> None:
        q = params.quoting
        self._params = params
        self._rules = rules
        self._gamma = float(q.risk_aversion)
        self.calibrator = Calibrator(rules.tick_size, q.calibration_window_s, q.recalibrate_every_s)
        self.last: ModelQuote | None = None

    def quote(self, view: StrategyView, ref: Decimal) -> ModelQuote | None:
        """The model's quote around `ref` for the current inventory; None until calibrated."""
        calibrated = self.calibrator.fit(view.now)
        if calibrated is None:
            self.last = None
            return None
        p = self._params
        shift = 0.0
        funding = view.funding
        if p.quoting.funding_skew and funding is not None:
            shift = funding_shift(float(funding.rate), float(funding.mark_price),
                                  funding.next_funding_ts - view.now, funding.interval_s)
        fair = float(ref)
        q = float(net_position(view.positions, p.market) / p.order_amount)
        self.last = glft_quote(
            calibrated, fair=fair, tick=float(self._rules.tick_size), q=q, gamma=self._gamma,
            min_half_spread_bid=float(p.bid_spread) * fair, min_half_spread_ask=float(p.ask_spread) * fair,
            shift=shift,
        )
        return self.last

    def status(self, view_positions: Sequence[Position]) -> dict[str, Any]:
        """The model's inputs and outputs, for `pmm status` (numbers as strings or None)."""
        cal = self.calibrator
        quote = self.last

        def num(value: float | None) -> str | None:
            return None if value is None else f"{value:.6g}"

        limit = self._params.quoting.max_position
        return {
            "model": "glft",
            "calibrated": cal.current is not None,
            "sigma_ticks_per_sqrt_s": num(cal.sigma),
            "bid_a_per_s": num(cal.bid.a if cal.bid else None), "bid_k_per_tick": num(cal.bid.k if cal.bid else None),
            "ask_a_per_s": num(cal.ask.a if cal.ask else None), "ask_k_per_tick": num(cal.ask.k if cal.ask else None),
            "gamma": str(self._params.quoting.risk_aversion),
            "fair_price": num(quote.fair if quote else None),
            "reservation_price": num(quote.reservation if quote else None),
            "half_spread": num((quote.half_spread_bid + quote.half_spread_ask) / 2 if quote else None),
            "skew": num((quote.skew_bid + quote.skew_ask) / 2 if quote else None),
            "funding_shift": num(quote.funding_shift if quote else None),
            "inventory": str(net_position(view_positions, self._params.market)),
            "max_position": None if limit is None else str(limit),
        }
