"""`BotConfig`: the YAML config as typed values, with the meaning, defaults and ranges of
Hummingbot's `perpetual_market_making` (reference §1).

Percent keys stay percents here ("enter 1 for 1%"), exactly as typed; `to_strategy_params`
divides by 100 the keys Hummingbot's start.py divides, and nothing else.
Cross-field rules live in `pmm.config.cross`; loading and messages in `pmm.config.loader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PrivateAttr

from pmm.config.base import BASE_UNITS, PERCENT, QUOTE_PRICE, SECONDS, Section, rule
from pmm.config.names import KNOWN_DERIVATIVES, KNOWN_PRICE_SOURCES
from pmm.config.rules import (
    Boolean,
    Choice,
    Connector,
    Exactly,
    Name,
    Number,
    TradingPair,
    Url,
    to_decimal,
)
from pmm.config.quoting import QuotingConfig
from pmm.config.risk import RiskConfig
from pmm.config.sim import SimConfig
from pmm.config.wording import fail, show
from pmm.core.model import MarginMode, PositionMode, Side
from pmm.sim.settings import SimSettings
from pmm.strategy.params import OverrideOrder, PmmParams, PriceSource, PriceType

STRATEGY_NAME = "perpetual_market_making"
_HUNDRED = Decimal(100)

POSITION_MODES = Choice(
    {"One-way": PositionMode.ONEWAY, "Hedge": PositionMode.HEDGE},
    aliases={"oneway": "One-way", "one_way": "One-way", "one way": "One-way"},
)
MARGIN_MODES = Choice({"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED})
PRICE_SOURCES = Choice({source.value: source for source in PriceSource})
PRICE_TYPES = Choice({price_type.value: price_type for price_type in PriceType})


@dataclass(frozen=True, slots=True)
class OverrideEntry:
    """One `order_override` value as typed: spread in PERCENT (the strategy gets a fraction)."""

    side: Side
    spread_pct: Decimal
    amount: Decimal


_SIDES = Choice({"buy": Side.BUY, "sell": Side.SELL})
_OVERRIDE_SPREAD = Number(gt=-100, lt=100, unit=PERCENT)
_OVERRIDE_AMOUNT = Number(gt=0, unit=BASE_UNITS)


@dataclass(frozen=True, slots=True)
class _OverrideRule:
    """`[side, spread_pct, amount]`, e.g. `[buy, 0.5, 0.01]`."""

    expected: str = "a list [side, spread_pct, amount], e.g. [buy, 0.5, 0.01]"

    def __call__(self, value: Any) -> OverrideEntry:
        if not isinstance(value, list | tuple) or len(value) != 3:
            fail(self.expected)
        side_text, spread, amount = value
        if not (isinstance(side_text, str) and side_text.strip().lower() in ("buy", "sell")):
            fail(_SIDES.expected, subpath="[0]", shown=show(side_text))
        spread_pct = to_decimal(spread)
        if spread_pct is None or not spread_pct.is_finite() or not (-100 < spread_pct < 100):
            fail(_OVERRIDE_SPREAD.expected, subpath="[1]", shown=show(spread))
        size = to_decimal(amount)
        if size is None or not size.is_finite() or size <= 0:
            fail(_OVERRIDE_AMOUNT.expected, subpath="[2]", shown=show(amount))
        return OverrideEntry(_SIDES(side_text), spread_pct, size)


class ConnectorOverrides(Section):
    """`connector:` endpoint overrides for live connectors (e.g. a local venue server); the
    `price_source_*` pair is for the external price source's connector."""

    rest_url: Annotated[str | None, rule(Url(("http", "https")))] = None
    ws_url: Annotated[str | None, rule(Url(("ws", "wss")))] = None
    price_source_rest_url: Annotated[str | None, rule(Url(("http", "https")))] = None
    price_source_ws_url: Annotated[str | None, rule(Url(("ws", "wss")))] = None


def _pct(**bounds: Any) -> Any:
    return rule(Number(unit=PERCENT, **bounds))


def _secs(**bounds: Any) -> Any:
    return rule(Number(unit=SECONDS, kind=float, **bounds))


class BotConfig(Section):
    """The whole config file. Field order follows Hummingbot's template.

    Build it with `load_config` / `parse_config_text` / `parse_config`, not `model_validate`:
    those also apply the cross-field rules, the dependent defaults and the problem wording.
    """

    template_version: Any = None  # Hummingbot bookkeeping; accepted and ignored
    strategy: Annotated[
        str, rule(Exactly(STRATEGY_NAME, note="the only strategy pmm runs"))
    ] = STRATEGY_NAME
    derivative: Annotated[
        str, rule(Connector(KNOWN_DERIVATIVES, "perpetual connectors"))
    ]
    market: Annotated[str, rule(TradingPair())]
    leverage: Annotated[int, rule(Number(gt=0, unit="x", kind=int))]
    position_mode: Annotated[PositionMode, rule(POSITION_MODES)] = PositionMode.ONEWAY
    margin_mode: Annotated[MarginMode, rule(MARGIN_MODES)] = MarginMode.CROSS
    bid_spread: Annotated[Decimal, _pct(gt=0, lt=100)]
    ask_spread: Annotated[Decimal, _pct(gt=0, lt=100)]
    minimum_spread: Annotated[Decimal, _pct(ge=-100, le=100, note="-100 disables")] = Decimal(-100)
    order_refresh_time: Annotated[float, _secs(gt=0)]
    order_refresh_tolerance_pct: Annotated[
        Decimal, _pct(ge=-10, le=10, note="negative always refreshes")
    ] = Decimal(0)
    order_amount: Annotated[Decimal, rule(Number(gt=0, unit=BASE_UNITS))]
    long_profit_taking_spread: Annotated[Decimal, _pct(ge=0, le=100, note="0 disables")] = Decimal(0)
    short_profit_taking_spread: Annotated[Decimal, _pct(ge=0, le=100, note="0 disables")] = Decimal(
        0
    )
    # Hummingbot's validator is (0, 101) exclusive, yet its default is 0; 0 is accepted here
    # and means "no stop loss", as it does in the strategy.
    stop_loss_spread: Annotated[Decimal, _pct(ge=0, lt=101, note="0 disables")] = Decimal(0)
    time_between_stop_loss_orders: Annotated[float, _secs(gt=0)] = 60.0
    # Hummingbot only requires >= 0; a buffer of 100% or more would price a long's exit at or
    # below zero, so the upper bound is added.
    stop_loss_slippage_buffer: Annotated[Decimal, _pct(ge=0, lt=100)] = Decimal("0.5")
    price_ceiling: Annotated[
        Decimal, rule(Number(gt=0, special=-1, unit=QUOTE_PRICE, note="-1 disables"))
    ] = Decimal(-1)
    price_floor: Annotated[
        Decimal, rule(Number(gt=0, special=-1, unit=QUOTE_PRICE, note="-1 disables"))
    ] = Decimal(-1)
    order_levels: Annotated[int, rule(Number(gt=0, unit="levels per side", kind=int))] = 1
    order_level_amount: Annotated[
        Decimal, rule(Number(unit=BASE_UNITS, note="added per level, may be negative"))
    ] = Decimal(0)
    order_level_spread: Annotated[Decimal, _pct(gt=0, lt=100)] = Decimal(1)
    filled_order_delay: Annotated[float, _secs(gt=0)] = 60.0
    order_optimization_enabled: Annotated[bool, rule(Boolean())] = False
    ask_order_optimization_depth: Annotated[Decimal, rule(Number(ge=0, unit=BASE_UNITS))] = Decimal(
        0
    )
    bid_order_optimization_depth: Annotated[Decimal, rule(Number(ge=0, unit=BASE_UNITS))] = Decimal(
        0
    )
    price_source: Annotated[PriceSource, rule(PRICE_SOURCES)] = PriceSource.CURRENT_MARKET
    price_type: Annotated[PriceType, rule(PRICE_TYPES)] = PriceType.MID_PRICE
    price_source_derivative: Annotated[
        str | None, rule(Connector(KNOWN_PRICE_SOURCES, "exchange or derivative connectors"))
    ] = None
    price_source_market: Annotated[str | None, rule(TradingPair())] = None
    price_source_custom_api: Annotated[str | None, rule(Url(("http", "https")))] = None
    custom_api_update_interval: Annotated[float, _secs(ge=Decimal("0.5"))] = 5.0
    order_override: dict[
        Annotated[str, rule(Name())], Annotated[OverrideEntry, rule(_OverrideRule())]
    ] = Field(default_factory=dict)
    connector: ConnectorOverrides = Field(default_factory=ConnectorOverrides)
    sim: SimConfig = Field(default_factory=SimConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    quoting: QuotingConfig = Field(default_factory=QuotingConfig)
    # Accepted so the message can say why it is refused (`cross.problems`): not built yet.
    exchange_stop_loss: Annotated[bool, rule(Boolean())] = False

    _path: Path | None = PrivateAttr(default=None)
    _source_text: str = PrivateAttr(default="")
    _warnings: tuple[str, ...] = PrivateAttr(default=())

    @property
    def path(self) -> Path | None:
        """The config file this was loaded from (None when built from a mapping)."""
        return self._path

    @property
    def source_text(self) -> str:
        """The config file's contents, as read (stored with each run)."""
        return self._source_text

    @property
    def warnings(self) -> tuple[str, ...]:
        """Things that load but are probably not what the user meant (ignored keys)."""
        return self._warnings

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the config are resolved against."""
        return self._path.parent if self._path is not None else Path.cwd()

    @property
    def quote_asset(self) -> str:
        return self.market.split("-")[1]

    @property
    def base_asset(self) -> str:
        return self.market.split("-")[0]

    def to_strategy_params(self) -> PmmParams:
        """The strategy's parameters: percents become fractions exactly where Hummingbot's
        start.py divides by 100 (reference §0.1), plus the `order_override` spreads."""

        def fraction(percent: Decimal) -> Decimal:
            return percent / _HUNDRED

        return PmmParams(
            market=self.market,
            leverage=self.leverage,
            position_mode=self.position_mode,
            margin_mode=self.margin_mode,
            bid_spread=fraction(self.bid_spread),
            ask_spread=fraction(self.ask_spread),
            order_amount=self.order_amount,
            order_refresh_time=self.order_refresh_time,
            minimum_spread=fraction(self.minimum_spread),
            order_refresh_tolerance_pct=fraction(self.order_refresh_tolerance_pct),
            order_levels=self.order_levels,
            order_level_amount=self.order_level_amount,
            order_level_spread=fraction(self.order_level_spread),
            long_profit_taking_spread=fraction(self.long_profit_taking_spread),
            short_profit_taking_spread=fraction(self.short_profit_taking_spread),
            stop_loss_spread=fraction(self.stop_loss_spread),
            time_between_stop_loss_orders=self.time_between_stop_loss_orders,
            stop_loss_slippage_buffer=fraction(self.stop_loss_slippage_buffer),
            price_source=self.price_source,
            price_type=self.price_type,
            price_ceiling=self.price_ceiling,
            price_floor=self.price_floor,
            order_optimization_enabled=self.order_optimization_enabled,
            ask_order_optimization_depth=self.ask_order_optimization_depth,
            bid_order_optimization_depth=self.bid_order_optimization_depth,
            filled_order_delay=self.filled_order_delay,
            order_override=tuple(
                OverrideOrder(
                    name=name,
                    side=entry.side,
                    spread=fraction(entry.spread_pct),
                    amount=entry.amount,
                )
                for name, entry in self.order_override.items()
            ),
            quoting=self.quoting.to_params(),
        )

    def to_sim_settings(self) -> SimSettings:
        """Settings of the simulated venue (for `sim_perpetual`; paper trade uses the balances
        and fees). Relative replay paths resolve against the config file's folder."""
        return self.sim.to_settings(self.base_dir, self.quote_asset)
