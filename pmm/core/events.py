"""Events (past tense) and market data (nouns) that connectors emit and the engine consumes.

Every event carries `ts` (the venue's time) and `recv_ts` (local receive time), both in float
seconds since the epoch. Events are immutable; dispatch on them with `match`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.model import (
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FundingInfo,
    Liquidity,
    OrderType,
    Position,
    PositionSide,
    Side,
    TradeId,
)

Level = tuple[Decimal, Decimal]  # (price, size); size 0 in a delta removes the level


# --- market data --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    market: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class BookDelta:
    market: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class Trade:
    market: str
    trade_id: TradeId
    price: Decimal
    amount: Decimal
    aggressor: Side
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class FundingInfoUpdated:
    info: FundingInfo
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class BookResyncRequired:
    """The local book is not trustworthy (gap, reconnect); quoting freezes until a snapshot."""

    market: str
    reason: str
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class ExternalPriceUpdated:
    """A reference price from outside the maker market (custom API)."""

    source: str
    price: Decimal | None  # None: the source is not ready (error, garbage)
    reason: str
    ts: float
    recv_ts: float


# --- account / orders ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class OrderRejected:
    client_id: ClientOrderId
    market: str
    reason: str
    code: str | None
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId | None
    market: str
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class OrderCancelRejected:
    """The venue refused a cancel (e.g. unknown order): reconcile to learn the truth."""

    client_id: ClientOrderId
    market: str
    reason: str
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class OrderFilled:
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    trade_id: TradeId
    market: str
    side: Side
    order_type: OrderType
    price: Decimal
    amount: Decimal
    remaining: Decimal  # what is left of the order after this fill; 0 = completely filled
    fee: Decimal  # positive = paid
    fee_asset: str
    liquidity: Liquidity
    position_side: PositionSide
    realized_pnl: Decimal
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class PositionUpdated:
    """The venue's position for (market, side). `position` is None when it is closed."""

    market: str
    side: PositionSide
    position: Position | None
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class BalanceUpdated:
    balance: Balance
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class FundingPaymentReceived:
    market: str
    funding_time_ms: int
    rate: Decimal
    amount: Decimal  # signed: positive = received, negative = paid
    asset: str
    position_amount: Decimal  # signed size at settlement
    mark_price: Decimal
    ts: float
    recv_ts: float


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """A stream of a connector went up or down."""

    connector: str
    stream: str
    connected: bool
    reason: str = ""
    ts: float = 0.0
    recv_ts: float = 0.0


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str
    ts: float
    recv_ts: float = field(default=0.0)


MarketEvent = BookSnapshot | BookDelta | Trade | FundingInfoUpdated | BookResyncRequired | ExternalPriceUpdated
AccountEvent = (
    OrderAccepted
    | OrderRejected
    | OrderCancelled
    | OrderCancelRejected
    | OrderFilled
    | PositionUpdated
    | BalanceUpdated
    | FundingPaymentReceived
)
Event = MarketEvent | AccountEvent | ConnectionChanged | TimerFired
