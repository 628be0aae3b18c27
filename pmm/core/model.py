"""Domain vocabulary: enums, ids, trading rules, orders, positions, balances, funding.

Money and sizes are `Decimal`, built from strings. Timestamps are float seconds since the Unix
epoch unless a name says otherwise (`_ms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import NewType

ClientOrderId = NewType("ClientOrderId", str)
ExchangeOrderId = NewType("ExchangeOrderId", str)
TradeId = NewType("TradeId", str)

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    LIMIT_MAKER = "limit_maker"  # post-only: rejected instead of crossing
    MARKET = "market"


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"
    BOTH = "both"  # one-way mode on the wire; a Position in pmm is always LONG or SHORT

    @property
    def closing_side(self) -> Side:
        """The order side that reduces a position of this side."""
        return Side.SELL if self is PositionSide.LONG else Side.BUY


class PositionMode(StrEnum):
    ONEWAY = "oneway"
    HEDGE = "hedge"


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class PositionAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"  # sent, no answer yet
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # outcome unknown: waiting for reconciliation

    @property
    def is_done(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class OrderPurpose(StrEnum):
    """Why the strategy wants an order; carried on the order so exits are known by tag, not price."""

    QUOTE = "quote"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    FLATTEN = "flatten"
    EXTERNAL = "external"  # not placed by this run (adopted at reconciliation)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of `step` <= value. Works for steps like 0.5 that are not powers of ten."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of `step` >= value."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


@dataclass(frozen=True, slots=True)
class TradingRules:
    market: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_size: Decimal
    min_notional: Decimal
    max_leverage: int

    def floor_price(self, price: Decimal) -> Decimal:
        return floor_to(price, self.tick_size)

    def ceil_price(self, price: Decimal) -> Decimal:
        return ceil_to(price, self.tick_size)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Bids round down, asks round up: rounding never makes a quote more aggressive."""
        return self.floor_price(price) if side is Side.BUY else self.ceil_price(price)

    def floor_size(self, amount: Decimal) -> Decimal:
        return floor_to(amount, self.step_size)

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_on_step(self, amount: Decimal) -> bool:
        return amount % self.step_size == 0

    def meets_minimums(self, price: Decimal, amount: Decimal) -> bool:
        return amount >= self.min_size and amount * price >= self.min_notional


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What to place. `price` is None only for market orders."""

    client_id: ClientOrderId
    market: str
    side: Side
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    position_action: PositionAction = PositionAction.OPEN
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    purpose: OrderPurpose = OrderPurpose.QUOTE
    level: int = 0


@dataclass(frozen=True, slots=True)
class Position:
    """An open position. `amount` is always positive; `side` says LONG or SHORT."""

    market: str
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    leverage: int
    margin_mode: MarginMode
    unrealized_pnl: Decimal = ZERO
    liquidation_price: Decimal | None = None
    mark_price: Decimal | None = None
    margin: Decimal = ZERO

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.side is PositionSide.LONG else -self.amount

    @property
    def notional(self) -> Decimal:
        return self.amount * (self.mark_price if self.mark_price is not None else self.entry_price)


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    total: Decimal  # wallet balance: deposits + realized PnL - fees + funding
    available: Decimal  # what new orders may use as margin
    margin_in_use: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class FundingInfo:
    market: str
    mark_price: Decimal
    index_price: Decimal
    rate: Decimal  # fraction per funding interval
    next_funding_ts: float
    interval_s: float = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class OrderReport:
    """A venue's view of one open order, for reconciliation."""

    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    side: Side
    order_type: OrderType
    price: Decimal | None
    amount: Decimal
    filled: Decimal
    status: OrderStatus
    reduce_only: bool
    position_side: PositionSide
    created_ts: float


@dataclass(frozen=True, slots=True)
class FillReport:
    """One execution as the venue records it; the same shape the OrderFilled event carries."""

    trade_id: TradeId
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal  # positive = paid
    fee_asset: str
    liquidity: Liquidity
    position_side: PositionSide
    realized_pnl: Decimal
    ts: float


@dataclass(frozen=True, slots=True)
class FundingPaymentReport:
    market: str
    funding_time_ms: int
    rate: Decimal
    amount: Decimal  # signed: positive = received, negative = paid
    asset: str
    position_amount: Decimal  # signed position size at settlement
    mark_price: Decimal
