"""The `sim:` section: settings of the simulated venue, in percent like every other key.

Only `sim_perpetual` (and the paper-trade connectors, for balances and fees) read it. Every
field is optional; the defaults are those of `pmm.sim.settings` (a test keeps them in sync).
`to_settings` converts percents to fractions, hours to seconds and milliseconds to seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from pmm.config.base import BASE_UNITS, PERCENT, QUOTE_PRICE, SECONDS, Section, rule
from pmm.config.rules import Asset, BookLevels, Boolean, Exactly, Number, Text, Timestamp, TradingPair
from pmm.config.wording import fail
from pmm.sim.settings import (
    MarketGenerator,
    ReplayMarket,
    SimMarketSettings,
    SimSettings,
    StaticMarket,
    SyntheticMarket,
)

_HUNDRED = Decimal(100)
DEFAULT_BALANCE = Decimal("10000")  # of the maker market's quote asset, when `balances` is absent
DEFAULT_START_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z, as SimSettings.start_ts


def _fraction(percent: Decimal) -> Decimal:
    return percent / _HUNDRED


class SyntheticGenerator(Section):
    """Seeded random-walk mid with an L2 book around it, Poisson trades and a funding process."""

    type: Annotated[str, rule(Exactly("synthetic"))] = "synthetic"
    start_price: Annotated[Decimal, rule(Number(gt=0, unit=QUOTE_PRICE))] = Decimal("65000")
    volatility_pct_per_sqrt_hour: Annotated[
        Decimal, rule(Number(ge=0, lt=100, unit="percent of price per square root of an hour"))
    ] = Decimal("0.4")
    book_interval_s: Annotated[float, rule(Number(gt=0, le=3600, unit=SECONDS, kind=float))] = 1.0
    depth_levels: Annotated[int, rule(Number(ge=1, le=1000, unit="levels per side", kind=int))] = 20
    level_spacing_ticks: Annotated[int, rule(Number(ge=1, unit="ticks", kind=int))] = 5
    level_size: Annotated[Decimal, rule(Number(gt=0, unit=BASE_UNITS))] = Decimal("0.5")
    half_spread_ticks: Annotated[int, rule(Number(ge=0, unit="ticks", kind=int))] = 1
    trade_rate_per_min: Annotated[
        float, rule(Number(ge=0, unit="trades per minute", kind=float))
    ] = 30.0
    trade_size: Annotated[Decimal, rule(Number(gt=0, unit=BASE_UNITS))] = Decimal("0.05")
    funding_rate_mean_pct: Annotated[
        Decimal, rule(Number(ge=-10, le=10, unit="percent per funding interval"))
    ] = Decimal("0.01")
    funding_rate_volatility_pct: Annotated[
        Decimal, rule(Number(ge=0, le=10, unit="percent per funding interval"))
    ] = Decimal("0.005")
    mark_premium_pct: Annotated[Decimal, rule(Number(ge=-10, le=10, unit=PERCENT))] = Decimal(
        "0.02"
    )
    trade_reach_ticks: Annotated[
        Decimal, rule(Number(ge=0, le=100000, unit="ticks", note="0: trades at or just through the touch"))
    ] = Decimal(0)
    drift_pct_per_hour: Annotated[Decimal, rule(Number(ge=-10, le=10, unit="percent of price per hour"))] = Decimal(0)
    funding_follows_premium: Annotated[bool, rule(Boolean())] = False

    def to_settings(self, base_dir: Path) -> SyntheticMarket:
        return SyntheticMarket(
            start_price=self.start_price,
            volatility=_fraction(self.volatility_pct_per_sqrt_hour),
            book_interval_s=self.book_interval_s,
            depth_levels=self.depth_levels,
            level_spacing_ticks=self.level_spacing_ticks,
            level_size=self.level_size,
            half_spread_ticks=self.half_spread_ticks,
            trade_rate_per_min=self.trade_rate_per_min,
            trade_size=self.trade_size,
            funding_rate_mean=_fraction(self.funding_rate_mean_pct),
            funding_rate_volatility=_fraction(self.funding_rate_volatility_pct),
            mark_premium=_fraction(self.mark_premium_pct),
            trade_reach_ticks=self.trade_reach_ticks,
            drift=_fraction(self.drift_pct_per_hour),
            funding_follows_premium=self.funding_follows_premium,
        )


class StaticGenerator(Section):
    """An explicit book that never moves."""

    type: Annotated[str, rule(Exactly("static"))] = "static"
    bids: Annotated[tuple[tuple[Decimal, Decimal], ...], rule(BookLevels(descending=True))]
    asks: Annotated[tuple[tuple[Decimal, Decimal], ...], rule(BookLevels(descending=False))]
    mark_price: Annotated[
        Decimal | None, rule(Number(gt=0, unit=QUOTE_PRICE, note="default: mid of the book"))
    ] = None
    funding_rate_pct: Annotated[
        Decimal, rule(Number(ge=-10, le=10, unit="percent per funding interval"))
    ] = Decimal(0)

    @model_validator(mode="after")
    def _not_crossed(self) -> StaticGenerator:
        best_bid, best_ask = self.bids[0][0], self.asks[0][0]
        if best_ask <= best_bid:
            fail(
                f"priced above the best bid ({best_bid})",
                subpath=".asks[0]",
                shown=f"[{best_ask}, {self.asks[0][1]}]",
            )
        return self

    def to_settings(self, base_dir: Path) -> StaticMarket:
        return StaticMarket(
            bids=self.bids,
            asks=self.asks,
            mark_price=self.mark_price,
            funding_rate=_fraction(self.funding_rate_pct),
        )


class ReplayGenerator(Section):
    """A JSON-lines recording, replayed; `path` is relative to the config file's folder."""

    type: Annotated[str, rule(Exactly("replay"))] = "replay"
    path: Annotated[str, rule(Text(expected="a file path (relative to the config file's folder)"))]
    speed: Annotated[
        float, rule(Number(gt=0, unit="times real time", note="real-time runs only", kind=float))
    ] = 1.0

    def resolved_path(self, base_dir: Path) -> Path:
        return (base_dir / Path(self.path).expanduser()).resolve()

    def to_settings(self, base_dir: Path) -> ReplayMarket:
        return ReplayMarket(path=self.resolved_path(base_dir), speed=self.speed)


GENERATOR_TYPES = ("synthetic", "static", "replay")


def _generator_tag(value: Any) -> str | None:
    """Which generator model to use: the `type` key, synthetic when absent."""
    if isinstance(value, Mapping):
        tag = value.get("type")
        if tag is None:
            return "synthetic"
        return tag.strip().lower() if isinstance(tag, str) else str(tag)
    if isinstance(value, SyntheticGenerator | StaticGenerator | ReplayGenerator):
        return value.type
    return None


def _generator_shorthand(value: Any) -> Any:
    """`generator: static` is short for `generator: {type: static}`."""
    return {"type": value} if isinstance(value, str) else value


GeneratorConfig = Annotated[
    Annotated[SyntheticGenerator, Tag("synthetic")]
    | Annotated[StaticGenerator, Tag("static")]
    | Annotated[ReplayGenerator, Tag("replay")],
    Discriminator(_generator_tag),
    BeforeValidator(_generator_shorthand),
]


class SimMarketConfig(Section):
    """One simulated market: its trading rules and its market-data generator."""

    tick_size: Annotated[Decimal, rule(Number(gt=0, unit=QUOTE_PRICE))] = Decimal("0.1")
    step_size: Annotated[Decimal, rule(Number(gt=0, unit=BASE_UNITS))] = Decimal("0.001")
    min_size: Annotated[Decimal, rule(Number(ge=0, unit=BASE_UNITS))] = Decimal("0.001")
    min_notional: Annotated[Decimal, rule(Number(ge=0, unit="quote units"))] = Decimal("5")
    max_leverage: Annotated[int, rule(Number(ge=1, le=1000, unit="x", kind=int))] = 50
    generator: GeneratorConfig = Field(default_factory=SyntheticGenerator)

    def to_settings(self, market: str, base_dir: Path) -> SimMarketSettings:
        generator: MarketGenerator = self.generator.to_settings(base_dir)
        return SimMarketSettings(
            market=market,
            generator=generator,
            tick_size=self.tick_size,
            step_size=self.step_size,
            min_size=self.min_size,
            min_notional=self.min_notional,
            max_leverage=self.max_leverage,
        )


class SimConfig(Section):
    """The `sim:` section."""

    seed: Annotated[int, rule(Number(ge=0, kind=int))] = 1
    balances: dict[
        Annotated[str, rule(Asset())], Annotated[Decimal, rule(Number(ge=0, unit="asset units"))]
    ] | None = None
    maker_fee_pct: Annotated[
        Decimal, rule(Number(ge=-1, le=1, unit=PERCENT, note="negative is a rebate"))
    ] = Decimal("0.02")
    taker_fee_pct: Annotated[Decimal, rule(Number(ge=0, le=1, unit=PERCENT))] = Decimal("0.05")
    funding_interval_hours: Annotated[Decimal, rule(Number(gt=0, le=24, unit="hours"))] = Decimal(8)
    maintenance_margin_pct: Annotated[
        Decimal, rule(Number(gt=0, lt=100, unit="percent of notional"))
    ] = Decimal("0.5")
    latency_ms: Annotated[Decimal, rule(Number(ge=0, le=60000, unit="milliseconds"))] = Decimal(0)
    start_time: Annotated[float, rule(Timestamp())] = DEFAULT_START_TS
    markets: dict[Annotated[str, rule(TradingPair())], SimMarketConfig] = Field(
        default_factory=dict
    )

    def to_settings(self, base_dir: Path, quote_asset: str) -> SimSettings:
        """The venue settings; `quote_asset` gets the default balance when none is given."""
        balances = (
            dict(self.balances) if self.balances is not None else {quote_asset: DEFAULT_BALANCE}
        )
        return SimSettings(
            markets=tuple(
                market_config.to_settings(market, base_dir)
                for market, market_config in self.markets.items()
            ),
            balances=balances,
            maker_fee=_fraction(self.maker_fee_pct),
            taker_fee=_fraction(self.taker_fee_pct),
            funding_interval_s=float(self.funding_interval_hours * 3600),
            maintenance_margin=_fraction(self.maintenance_margin_pct),
            latency_s=float(self.latency_ms / 1000),
            seed=self.seed,
            start_ts=self.start_time,
        )
