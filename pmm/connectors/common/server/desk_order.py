"""One order as a venue server keeps it, in venue-neutral terms (the venue writes its own view).

Sizes are in the simulated market's base units; a venue that trades in contracts converts at its
wire. `state` follows the order's life; `cause` says why a canceled order ended, which each venue
words its own way (a cancel source or cancel type field, or an EXPIRED status next to CANCELED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pmm.core.events import OrderFilled, OrderRejected
from pmm.core.model import ZERO, OrderType, PositionSide, Side


class Tif(StrEnum):
    GTC = "gtc"
    IOC = "ioc"  # what it cannot take at once is canceled
    FOK = "fok"  # all at once or nothing
    POST_ONLY = "post_only"  # never takes: one that would is refused (or canceled, per venue)


class State(StrEnum):
    PENDING = "pending"  # sent to the simulated exchange, no answer yet
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"


class Cause(StrEnum):
    """Why an order was canceled."""

    NONE = ""
    USER = "user"  # the client asked
    UNFILLED = "unfilled"  # the rest of an IOC, FOK or market order
    FOK_UNFILLABLE = "fok_unfillable"  # a FOK the book could not fill whole
    POST_ONLY_CROSS = "post_only_cross"  # a post-only order that would have taken
    REDUCE_ONLY = "reduce_only"  # nothing left to reduce
    DEAD_MAN = "dead_man"  # the dead-man switch ran out
    VENUE = "venue"  # the venue's own (liquidation, risk)


_OPEN = (State.OPEN, State.PARTIALLY_FILLED)


@dataclass(slots=True)
class DeskOrder:
    """An order placed through a venue server (see module docstring). Mutable: the desk updates it."""

    order_id: str
    client_id: str  # "" when the client gave none
    market: str
    side: Side
    tif: Tif
    price: Decimal | None  # None: a market order
    qty: Decimal
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    created: float = 0.0
    updated: float = 0.0
    sim_id: str = ""  # the simulated exchange's client id of the live leg (a venue may name the first)
    state: State = State.PENDING
    cause: Cause = Cause.NONE
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO
    cum_fee: Decimal = ZERO
    fee_asset: str = ""
    pnl: Decimal = ZERO
    last_fill: OrderFilled | None = None
    rejection: OrderRejected | None = None
    cancel_refused: bool = False
    amends: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # the venue's own fields (tags, modes, ...)

    @property
    def is_market(self) -> bool:
        return self.price is None

    @property
    def is_open(self) -> bool:
        return self.state in _OPEN

    @property
    def is_done(self) -> bool:
        return self.state in (State.FILLED, State.CANCELED, State.REJECTED)

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.cum_qty if self.is_open or self.state is State.PENDING else ZERO

    @property
    def avg_price(self) -> Decimal | None:
        return self.cum_value / self.cum_qty if self.cum_qty else None

    @property
    def closing(self) -> bool:
        """Reduce-only, or a hedge-mode close (sell LONG, buy SHORT): it can never open."""
        return self.reduce_only or (self.position_side is not PositionSide.BOTH
                                    and self.position_side.closing_side is self.side)

    @property
    def sim_type(self) -> OrderType:
        if self.price is None:
            return OrderType.MARKET
        return OrderType.LIMIT_MAKER if self.tif is Tif.POST_ONLY else OrderType.LIMIT
