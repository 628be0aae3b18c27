"""What the engine knows about markets and the account, updated from events."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.core.model import Balance, FundingInfo, Position, PositionSide


@dataclass
class MarketState:
    book: OrderBook
    ready: bool = False  # a snapshot has arrived and no gap since
    resync_reason: str = "waiting for the first order book snapshot"
    funding: FundingInfo | None = None
    last_data_ts: float | None = None  # clock time of the last market data message of any kind
    last_book_ts: float | None = None  # clock time of the last order book snapshot or update
    unready_since: float | None = None  # clock time the book stopped being usable (None: usable)


@dataclass
class SessionPnl:
    """Money this run made or lost, from its own fills and funding (quote asset)."""

    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    fills: int = 0
    volume_quote: Decimal = Decimal(0)

    def net(self, unrealized: Decimal) -> Decimal:
        return self.realized - self.fees + self.funding + unrealized


@dataclass
class AccountState:
    positions: dict[tuple[str, PositionSide], Position] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)

    def set_position(self, market: str, side: PositionSide, position: Position | None) -> None:
        if position is None or position.amount == 0:
            self.positions.pop((market, side), None)
        else:
            self.positions[(market, side)] = position

    def market_positions(self, market: str) -> tuple[Position, ...]:
        return tuple(p for (m, _), p in self.positions.items() if m == market)

    def replace_positions(self, positions: list[Position]) -> None:
        self.positions = {(p.market, p.side): p for p in positions if p.amount != 0}

    def unrealized(self, market: str) -> Decimal:
        return sum((p.unrealized_pnl for p in self.market_positions(market)), Decimal(0))
