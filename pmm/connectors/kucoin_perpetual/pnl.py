"""Realised PnL of each fill, which KuCoin's order pushes and fill rows do not carry.

The gateway keeps the account's open lots per market and position side, seeded from the positions
the venue reports at start (one lot at `avgEntryPrice`), and books every fill once (by trade id):
a fill that reduces a side closes its oldest lots first and realises (exit - entry) x size for a
long, the reverse for a short; the rest of the fill opens a lot. The same fill reached again (the
stream and a fill read after a reconnect) gets the PnL it got the first time.

KuCoin documents its position's realised PnL (`realisedGrossPnl`) but no rule per fill; first in,
first out is pmm's choice (see the closing note of issue 12): over a position opened and closed
completely, every rule gives the same total.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from decimal import Decimal

from pmm.core.model import ZERO, Position, PositionSide, Side

_KEPT = 100_000  # trade ids remembered with their PnL


class LotBook:
    def __init__(self) -> None:
        self._lots: dict[tuple[str, PositionSide], deque[list[Decimal]]] = {}  # [size, price], oldest first
        self._booked: OrderedDict[str, Decimal] = OrderedDict()

    def seed(self, positions: list[Position]) -> None:
        """Start from the venue's positions (replacing what was known)."""
        self._lots = {}
        for p in positions:
            self._lots[(p.market, p.side)] = deque([[p.amount, p.entry_price]])

    def held(self, market: str, side: PositionSide) -> Decimal:
        return sum((lot[0] for lot in self._lots.get((market, side), ())), ZERO)

    def book(self, trade_id: str, market: str, side: Side, position_side: PositionSide, price: Decimal,
             amount: Decimal) -> Decimal:
        """Book one fill once; its realised PnL (0 for a fill that only opens)."""
        key = f"{market}/{trade_id}"
        if key in self._booked:
            return self._booked[key]
        if position_side is PositionSide.BOTH:  # one-way: a buy reduces a short first, a sell a long
            closes = PositionSide.SHORT if side is Side.BUY else PositionSide.LONG
            opens = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
        else:
            closes = opens = position_side
            if (side is Side.BUY) == (position_side is PositionSide.LONG):
                closes = None  # type: ignore[assignment]  # a hedge-mode open
        realized = ZERO
        left = amount
        if closes is not None:
            lots = self._lots.get((market, closes), deque())
            while left > 0 and lots:
                lot = lots[0]
                taken = min(lot[0], left)
                gain = (price - lot[1]) * taken
                realized += gain if closes is PositionSide.LONG else -gain
                lot[0] -= taken
                left -= taken
                if lot[0] <= 0:
                    lots.popleft()
            if position_side is not PositionSide.BOTH:
                left = ZERO  # a hedge-mode close never opens the other side
        if left > 0:
            self._lots.setdefault((market, opens), deque()).append([left, price])
        self._booked[key] = realized
        if len(self._booked) > _KEPT:
            self._booked.popitem(last=False)
        return realized
