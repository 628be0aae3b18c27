"""The connector contract (DESIGN.md §4): what every connector is, and every optional part of it.

A connector is two parts, so paper trading is "a venue's real feed + the simulated gateway":
a `MarketDataFeed` (public: rules, book, trades, funding info) and an `OrderGateway` (private:
orders, account setup, account reads, a stream of account events). Both push events through the
`emit` callback the engine hands them. Outcomes of place/cancel arrive as events; a call that
raises `OrderOutcomeUnknown` leaves the order in flight until reconciliation settles it.

Every connector brings a `Pacer`: how the engine waits for the next event. Live venues use the
real-time pacer (`pmm.core.pacer`); the simulated venue brings one that moves its virtual clock.

Optional capabilities are declared here, never discovered with `hasattr`: a part the venue may lack
is a field of `ConnectorBundle` that is None when it does (`dead_man_switch`, `conditional_orders`), and what every
connector can answer trivially is a member of the protocol (`prepare`, `Pacer.finished`). Which
venue has which capability is in its `VenueSpec.capabilities` (`connectors/common/venue_spec.py`);
the contract suite checks the bundle agrees with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pmm.core.clock import Clock
from pmm.core.events import Event
from pmm.core.pacer import WakeSignal
from pmm.core.model import (
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    MarginMode,
    OrderReport,
    OrderRequest,
    Position,
    PositionMode,
    PositionSide,
    Side,
    TradingRules,
)

Emit = Callable[[Event], None]


class MarketDataFeed(Protocol):
    """`prepare(markets)` loads what `trading_rules` needs (a REST call on live venues; nothing on
    the simulated one); the composition root awaits it before anything reads the rules."""

    connector_id: str

    async def prepare(self, markets: Sequence[str]) -> None: ...
    async def start(self, markets: Sequence[str], emit: Emit) -> None: ...
    async def stop(self) -> None: ...
    def trading_rules(self, market: str) -> TradingRules: ...


class OrderGateway(Protocol):
    """`prepare(markets)` loads what `fee_rates` needs before the engine starts."""

    connector_id: str
    venue: str  # the account's identity in the store (fills are unique per venue + trade id)

    async def prepare(self, markets: Sequence[str]) -> None: ...
    async def start(self, emit: Emit) -> None: ...
    async def stop(self) -> None: ...
    async def place_order(self, request: OrderRequest) -> None: ...
    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None: ...
    async def cancel_all(self, market: str) -> None: ...
    async def set_leverage(self, market: str, leverage: int) -> None: ...
    async def set_position_mode(self, mode: PositionMode) -> None: ...
    async def set_margin_mode(self, market: str, mode: MarginMode) -> None: ...
    async def balances(self) -> list[Balance]: ...
    async def positions(self) -> list[Position]: ...
    async def open_orders(self, market: str) -> list[OrderReport]: ...
    async def fills_since(self, ts: float, market: str) -> list[FillReport]: ...
    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]: ...
    def fee_rates(self, market: str) -> tuple[Decimal, Decimal]:
        """(maker, taker) as fractions."""
        ...


class DeadManSwitch(Protocol):
    """The venue's own cancel-all countdown: if it is not renewed within `seconds`, the venue cancels
    our orders in `market` by itself (the bot died or lost its connection)."""

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None: ...
    async def disarm_dead_man_switch(self, market: str) -> None: ...


class ConditionalOrders(Protocol):
    """Reduce-only stops resting at the venue (DESIGN.md §4): when the mark (or the last) price
    reaches `trigger_price`, the venue itself closes `amount` (base units) at market, or with a limit
    at `limit_price`, so a position keeps its stop-loss when the bot is gone or cut off.
    `place_stop_order` returns the venue's id of the stop; `cancel_stop_order` takes the client id
    the stop was placed with. `resting_stop_orders` lists the client ids of the stops resting in
    `market` (not yet triggered), whoever placed them: a new run finds the stops an earlier one left."""

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId: ...
    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None: ...
    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]: ...


class Pacer(Protocol):
    """How the engine waits: until `deadline` (clock seconds) or until `wake` is set. `finished()`:
    the market will never produce another event (a replay ended); a live market never finishes."""

    virtual: bool

    async def wait(self, deadline: float | None, wake: WakeSignal) -> None: ...
    def finished(self) -> bool: ...


@dataclass
class ConnectorBundle:
    """What the registry builds for one connector id."""

    connector_id: str
    feed: MarketDataFeed
    gateway: OrderGateway
    clock: Clock
    pacer: Pacer
    # Hook for connectors that keep state the store should persist (the simulated account).
    export_state: Callable[[], dict] | None = None
    # Which account trades, as a name that reveals no secret (`common.credentials.account_label`):
    # one bot per account and market. "" for the one simulated account the store keeps.
    account: str = ""
    # Where the venue has rate limits: the largest share of one in use now (0 to 1), for metrics.
    rate_limit_use: Callable[[], float] | None = None
    # The venue's own cancel-all countdown, where it has one (`Capabilities.dead_man_switch`).
    dead_man_switch: DeadManSwitch | None = None
    # Reduce-only stops resting at the venue, where it has them (`Capabilities.conditional_orders`).
    conditional_orders: ConditionalOrders | None = None
