"""Settings of the simulated perpetual venue. Percent fields are fractions here (0.0002 = 0.02%).

`pmm.config` validates the YAML `sim:` section (percents, like every other key) and builds these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SyntheticMarket:
    """Seeded random-walk mid with an L2 book around it, Poisson trades and a funding process."""

    start_price: Decimal = Decimal("65000")
    volatility: Decimal = Decimal("0.004")  # fraction of price per sqrt(hour)
    book_interval_s: float = 1.0  # how often the mid moves and the book is redrawn
    depth_levels: int = 20
    level_spacing_ticks: int = 5
    level_size: Decimal = Decimal("0.5")  # base units at each level (randomised around this)
    half_spread_ticks: int = 1
    trade_rate_per_min: float = 30.0  # Poisson arrival rate of market trades
    trade_size: Decimal = Decimal("0.05")  # mean base size of a market trade
    funding_rate_mean: Decimal = Decimal("0.0001")  # fraction per interval
    funding_rate_volatility: Decimal = Decimal("0.00005")
    mark_premium: Decimal = Decimal("0.0002")  # mark vs index, fraction; drawn around this
    # Mean distance from the mid, in ticks, that a market trade reaches (exponential: the rate of
    # trades reaching d ticks is A*exp(-k*d) with A = half the trade rate, k = 1/this). 0: trades
    # at or a few ticks through the touch, as before.
    trade_reach_ticks: Decimal = Decimal(0)
    drift: Decimal = Decimal(0)  # fraction of price per hour added to the log-mid (a trend)
    funding_follows_premium: bool = False  # the rate reverts towards the drawn premium, not the mean


@dataclass(frozen=True, slots=True)
class StaticMarket:
    """An explicit book that never moves. Levels are (price, size)."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    mark_price: Decimal | None = None  # default: mid of the book
    funding_rate: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ReplayMarket:
    """A JSON-lines file of book snapshots/deltas, trades, mark and funding updates."""

    path: Path
    speed: float = 1.0  # only used in real-time runs: 2.0 replays twice as fast


@dataclass(frozen=True, slots=True)
class ExternalMarket:
    """Nothing is generated: the market moves only when a venue's real feed is fed in with
    `SimExchange.feed(event, t)` (paper trading; see pmm/sim/external.py)."""


MarketGenerator = SyntheticMarket | StaticMarket | ReplayMarket | ExternalMarket


@dataclass(frozen=True, slots=True)
class SimMarketSettings:
    market: str  # "BASE-QUOTE"
    generator: MarketGenerator
    tick_size: Decimal = Decimal("0.1")
    step_size: Decimal = Decimal("0.001")
    min_size: Decimal = Decimal("0.001")
    min_notional: Decimal = Decimal("5")
    max_leverage: int = 50


@dataclass(frozen=True, slots=True)
class SimSettings:
    markets: tuple[SimMarketSettings, ...]
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("10000")})
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    funding_interval_s: float = 8 * 3600.0
    maintenance_margin: Decimal = Decimal("0.005")  # fraction of notional
    latency_s: float = 0.0  # one-way delay of order requests and their answers
    seed: int = 1
    start_ts: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the virtual clock's start in --fast runs
    # Queue position of resting orders (pmm/sim/queue.py: "risk_averse", "probabilistic"); None: a
    # print at our price fills us at once. Set by `pmm backtest --queue`.
    queue_model: str | None = None
