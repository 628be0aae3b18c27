"""What the engine's components share: one market's books, the account, our orders, the record.

The engine owns a `Desk` and hands it, with the few other things each needs, to the components it
owns (reconciler, safety, status: DESIGN.md §2), so none of them reaches back into the whole engine.
The engine updates the desk from events; the components read it and act through its order manager.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from pmm.core.clock import Clock
from pmm.core.model import Position
from pmm.engine.order_manager import OrderManager
from pmm.engine.recorder import Recorder
from pmm.engine.state import AccountState, MarketState
from pmm.engine.tracker import OrderTracker, TrackedOrder


def unrealized_at(position: Position, mark: Decimal | None) -> Decimal:
    """A position's unrealized PnL at `mark` (the venue's own figure when there is no mark yet)."""
    if mark is None:
        return position.unrealized_pnl
    return (mark - position.entry_price) * position.signed_amount


@dataclass
class Desk:
    clock: Clock
    market: str  # the market the bot quotes
    markets: dict[str, MarketState]  # its book and, with an external price source, that book too
    account: AccountState
    tracker: OrderTracker
    orders: OrderManager
    recorder: Recorder

    @property
    def state(self) -> MarketState:
        return self.markets[self.market]

    def positions(self) -> tuple[Position, ...]:
        return self.account.market_positions(self.market)

    def active_orders(self) -> list[TrackedOrder]:
        return self.tracker.active(self.market)

    def mark_price(self) -> Decimal | None:
        funding = self.state.funding
        return funding.mark_price if funding is not None else None

    def unrealized(self) -> Decimal:
        mark = self.mark_price()
        return sum((unrealized_at(p, mark) for p in self.positions()), Decimal(0))


class Control(Protocol):
    """How a component asks the engine to act on its behalf."""

    def request_stop(self, reason: str, flatten: bool = False) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...
    async def settle_pending(self, steps: int = 3) -> None: ...
