"""One position as a FIFO queue of lots, so realized PnL is exact Decimal arithmetic.

Closing `q` at price `p` matches the oldest lots first and books
`sum((p - lot_price) * matched)` for a long (mirrored for a short): no division anywhere, so the
account ledger balances to the last digit. The entry price shown to users is `cost / size`.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from pmm.core.model import ZERO, PositionSide
from pmm.sim.num import dec, round8


class PositionState:
    """An open position on (market, side): lots of [price, qty], oldest first."""

    __slots__ = ("market", "side", "lots", "size", "cost", "isolated_margin")

    def __init__(self, market: str, side: PositionSide) -> None:
        if side is PositionSide.BOTH:
            raise ValueError("a position is LONG or SHORT, never BOTH")
        self.market = market
        self.side = side
        self.lots: deque[list[Decimal]] = deque()
        self.size = ZERO
        self.cost = ZERO  # sum(lot_price * lot_qty) of the remaining lots
        self.isolated_margin = ZERO  # only used in isolated margin mode

    @property
    def is_long(self) -> bool:
        return self.side is PositionSide.LONG

    @property
    def signed_size(self) -> Decimal:
        return self.size if self.side is PositionSide.LONG else -self.size

    @property
    def entry_price(self) -> Decimal:
        return self.cost / self.size if self.size else ZERO

    def add(self, price: Decimal, qty: Decimal) -> None:
        self.lots.append([price, qty])
        self.size += qty
        self.cost += price * qty

    def reduce(self, price: Decimal, qty: Decimal) -> Decimal:
        """Close `qty` (<= size) at `price` against the oldest lots; returns the realized PnL."""
        if qty > self.size:
            raise ValueError(f"cannot close {qty} of a {self.size} position")
        pnl = ZERO
        left = qty
        long = self.side is PositionSide.LONG
        lots = self.lots
        while left > 0:
            lot = lots[0]
            lot_price, lot_qty = lot
            take = lot_qty if lot_qty <= left else left
            pnl += (price - lot_price) * take if long else (lot_price - price) * take
            self.cost -= lot_price * take
            if take == lot_qty:
                lots.popleft()
            else:
                lot[1] = lot_qty - take
            left -= take
        if self.isolated_margin:
            # Release margin in proportion to what was closed; all of it on a full close.
            released = self.isolated_margin if qty == self.size else round8(self.isolated_margin * qty / self.size)
            self.isolated_margin -= released
        self.size -= qty
        return pnl

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        value = self.size * mark
        return value - self.cost if self.side is PositionSide.LONG else self.cost - value

    def to_json(self) -> dict:
        return {
            "market": self.market,
            "side": self.side.value,
            "lots": [[str(p), str(q)] for p, q in self.lots],
            "isolated_margin": str(self.isolated_margin),
        }

    @classmethod
    def from_json(cls, data: dict) -> PositionState:
        state = cls(data["market"], PositionSide(data["side"]))
        for price, qty in data["lots"]:
            state.add(dec(price), dec(qty))
        state.isolated_margin = dec(data["isolated_margin"])
        return state
