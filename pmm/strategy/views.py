"""What the strategy reads (StrategyView, LiveOrder) and what it returns (Decision, OrderIntent).

The strategy never talks to a venue: the engine builds a view from its state, calls `decide`, and
its order manager turns the Decision into place/cancel calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.core.model import (
    ClientOrderId,
    FundingInfo,
    OrderPurpose,
    OrderType,
    Position,
    PositionAction,
    PositionSide,
    Side,
)


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """One of our orders that is not finished (open, partially filled, pending new or cancel)."""

    client_id: ClientOrderId
    side: Side
    price: Decimal  # the price we asked for (already quantized)
    amount: Decimal  # original amount we asked for
    filled: Decimal
    purpose: OrderPurpose
    level: int
    position_action: PositionAction
    created_ts: float
    cancel_pending: bool = False

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


@dataclass(frozen=True, slots=True)
class StrategyView:
    now: float
    book: OrderBook  # the maker market's book; read only
    book_ready: bool  # False while the book is empty or resyncing: never quote from it
    orders: tuple[LiveOrder, ...]  # our unfinished orders on the maker market
    positions: tuple[Position, ...]  # open positions on the maker market only
    available_margin: Decimal  # quote-asset margin available for new orders
    maker_fee: Decimal  # fraction
    funding: FundingInfo | None = None
    external_book: OrderBook | None = None  # price_source = external_market
    external_ready: bool = False
    external_reason: str = ""  # what the external source is waiting for, while it is not ready
    custom_price: Decimal | None = None  # price_source = custom_api; None = not ready
    custom_price_reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    side: Side
    price: Decimal
    amount: Decimal
    order_type: OrderType
    purpose: OrderPurpose
    position_action: PositionAction
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    level: int = 0


@dataclass(frozen=True, slots=True)
class Cancel:
    client_id: ClientOrderId
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    places: tuple[OrderIntent, ...] = ()
    cancels: tuple[Cancel, ...] = ()
    ref_price: Decimal | None = None
    ref_price_type: str = ""
    quoting: bool = False  # True when opening quotes are live or being placed
    reason: str = ""  # why not quoting (or what it is doing), shown by status
    logs: tuple[str, ...] = field(default_factory=tuple)
