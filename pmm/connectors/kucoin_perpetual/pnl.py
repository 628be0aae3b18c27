"""Realised PnL of each fill, which KuCoin's order pushes and fill rows do not carry.

The gateway keeps the account's open lots per market and position side and books every fill once
(by trade id):
a fill that reduces a side closes its oldest lots first and realises (exit - entry) x size for a
long, the reverse for a short; the rest of the fill opens a lot. The same fill reached again (the
stream and a fill read after a reconnect) gets the PnL it got the first time.

KuCoin documents its position's realised PnL (`realisedGrossPnl`) but no rule per fill; first in,
first out is pmm's choice (see the closing note of issue 12): over a position opened and closed
completely, every rule gives the same total.

At start the lots are rebuilt from the account's recent fills (`rebuild`): going back from the
positions the venue reports now, the earliest moment the account held nothing in the market is
found, and every fill since is booked again in order, which gives each its PnL and leaves the lots
exactly as they are. Without such a moment in the history read, the positions are the lots (one
lot at `avgEntryPrice`) and the older fills keep a PnL of 0.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from decimal import Decimal

from collections.abc import Sequence
from typing import Protocol

from pmm.core.model import ZERO, Position, PositionSide, Side

_KEPT = 100_000  # trade ids remembered with their PnL


class Fill(Protocol):
    @property
    def trade_id(self) -> str: ...
    @property
    def market(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def position_side(self) -> PositionSide: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...


def _moves(fill: Fill) -> dict[PositionSide, Decimal]:
    """What one fill does to the held amounts: one-way as a signed net (LONG key), hedge per side."""
    if fill.position_side is PositionSide.BOTH:
        return {PositionSide.LONG: fill.amount if fill.side is Side.BUY else -fill.amount}
    opening = (fill.side is Side.BUY) == (fill.position_side is PositionSide.LONG)
    return {fill.position_side: fill.amount if opening else -fill.amount}


class LotBook:
    def __init__(self) -> None:
        self._lots: dict[tuple[str, PositionSide], deque[list[Decimal]]] = {}  # [size, price], oldest first
        self._booked: OrderedDict[str, Decimal] = OrderedDict()

    def seed(self, positions: list[Position]) -> None:
        """Start from the venue's positions (replacing what was known)."""
        self._lots = {}
        for p in positions:
            self._lots[(p.market, p.side)] = deque([[p.amount, p.entry_price]])

    def rebuild(self, market: str, fills: Sequence[Fill], positions: Sequence[Position]) -> bool:
        """Rebuild the market's lots from `fills` (oldest first) and the venue's `positions` now
        (see module docstring); False when no flat moment was found (the positions seed the lots)."""
        held = {side: ZERO for side in (PositionSide.LONG, PositionSide.SHORT)}
        for p in positions:
            if p.market == market:
                held[p.side] += p.amount
        hedge = any(f.position_side is not PositionSide.BOTH for f in fills)
        state = dict(held) if hedge else {PositionSide.LONG: held[PositionSide.LONG] - held[PositionSide.SHORT]}
        start = None
        if all(v == 0 for v in state.values()):
            start = len(fills)
        for index in range(len(fills) - 1, -1, -1):
            for side, move in _moves(fills[index]).items():
                state[side] = state.get(side, ZERO) - move
            if all(v == 0 for v in state.values()):
                start = index
        for key in [k for k in self._lots if k[0] == market]:
            del self._lots[key]
        if start is None:
            for p in positions:
                if p.market == market:
                    self._lots[(p.market, p.side)] = deque([[p.amount, p.entry_price]])
        for index, fill in enumerate(fills):
            if start is None or index < start:
                self._booked[f"{market}/{fill.trade_id}"] = ZERO  # before what the lots know: never rebooked
            else:
                self.book(fill.trade_id, market, fill.side, fill.position_side, fill.price, fill.amount)
        return start is not None

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
