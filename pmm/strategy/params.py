"""Strategy parameters as the strategy uses them: spreads are FRACTIONS (0.01 = 1%).

The YAML config takes percents ("enter 1 for 1%"); `pmm.config` divides by 100 when it builds
this object, exactly as Hummingbot's start.py does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from pmm.core.model import MarginMode, PositionMode, Side


class PriceSource(StrEnum):
    CURRENT_MARKET = "current_market"
    EXTERNAL_MARKET = "external_market"
    CUSTOM_API = "custom_api"


class PriceType(StrEnum):
    MID_PRICE = "mid_price"
    LAST_PRICE = "last_price"
    LAST_OWN_TRADE_PRICE = "last_own_trade_price"
    BEST_BID = "best_bid"
    BEST_ASK = "best_ask"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class OverrideOrder:
    """One `order_override` entry. `spread` is a fraction here."""

    name: str
    side: Side
    spread: Decimal
    amount: Decimal


class QuotingModel(StrEnum):
    HUMMINGBOT = "hummingbot"
    GLFT = "glft"


@dataclass(frozen=True, slots=True)
class QuotingParams:
    """The `quoting:` section (see `glft.py`). `risk_aversion` is gamma per tick and per order
    size; `max_position` is in base units; the times are seconds of the injected clock."""

    model: QuotingModel = QuotingModel.HUMMINGBOT
    risk_aversion: Decimal = Decimal("0.1")
    max_position: Decimal | None = None  # None: no limit (hummingbot model only)
    calibration_window_s: float = 600.0
    recalibrate_every_s: float = 5.0
    funding_skew: bool = True

    @property
    def glft(self) -> bool:
        return self.model is QuotingModel.GLFT


@dataclass(frozen=True, slots=True)
class PmmParams:
    market: str
    leverage: int
    position_mode: PositionMode
    margin_mode: MarginMode
    bid_spread: Decimal
    ask_spread: Decimal
    order_amount: Decimal
    order_refresh_time: float
    minimum_spread: Decimal = Decimal("-1")  # -1 (= -100%) disables
    order_refresh_tolerance_pct: Decimal = Decimal(0)  # fraction; negative = always refresh
    order_levels: int = 1
    order_level_amount: Decimal = Decimal(0)
    order_level_spread: Decimal = Decimal("0.01")
    long_profit_taking_spread: Decimal = Decimal(0)
    short_profit_taking_spread: Decimal = Decimal(0)
    stop_loss_spread: Decimal = Decimal(0)
    time_between_stop_loss_orders: float = 60.0
    stop_loss_slippage_buffer: Decimal = Decimal("0.005")
    price_source: PriceSource = PriceSource.CURRENT_MARKET
    price_type: PriceType = PriceType.MID_PRICE
    price_ceiling: Decimal = Decimal(-1)
    price_floor: Decimal = Decimal(-1)
    order_optimization_enabled: bool = False
    ask_order_optimization_depth: Decimal = Decimal(0)
    bid_order_optimization_depth: Decimal = Decimal(0)
    filled_order_delay: float = 60.0
    order_override: tuple[OverrideOrder, ...] = field(default_factory=tuple)
    quoting: QuotingParams = field(default_factory=QuotingParams)

    @property
    def profit_taking_enabled(self) -> bool:
        return self.long_profit_taking_spread > 0 or self.short_profit_taking_spread > 0

    @property
    def stop_loss_enabled(self) -> bool:
        return self.stop_loss_spread > 0
