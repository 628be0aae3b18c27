"""Realized PnL of BitMEX fills, worked out by the gateway: BitMEX's executions carry none.

BitMEX keeps one net position per symbol at an average entry price (`avgEntryPrice`). A fill that
reduces the position realizes (fill price - average entry) x the size it closes (the other way for a
short); one that adds moves the average; one that flips the position closes it and opens the rest at
the fill price. The book starts from the position BitMEX reports when the gateway starts, and
remembers each execution it has priced, so a fill met twice (the stream, then a reconciliation that
reads it back) gets the same PnL both times. A fill from before the start (read back by the
reconciliation after a restart) is priced by replaying the history from the last flat position before
it (`learn`). PnL carries 8 decimals.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import ROUND_HALF_UP, Decimal

from pmm.core.model import ZERO, Side

_STEP = Decimal("1e-8")
_REMEMBERED = 100_000


class RealizedPnl:
    def __init__(self) -> None:
        self._positions: dict[str, tuple[Decimal, Decimal]] = {}  # market -> (signed size, average entry)
        self._priced: OrderedDict[str, Decimal] = OrderedDict()

    def position(self, market: str) -> tuple[Decimal, Decimal]:
        return self._positions.get(market, (ZERO, ZERO))

    def start_from(self, market: str, signed_size: Decimal, entry: Decimal) -> None:
        """The position as the venue reports it (before any fill this book prices)."""
        self._positions[market] = (signed_size, entry if signed_size else ZERO)

    def knows(self, market: str, execution_id: str) -> bool:
        return f"{market}/{execution_id}" in self._priced

    def learn(self, market: str, execution_id: str, realized: Decimal) -> None:
        """The PnL of a fill worked out from history (`replay`), without moving the position."""
        self._priced.setdefault(f"{market}/{execution_id}", realized)

    def on_fill(self, market: str, execution_id: str, side: Side, price: Decimal, size: Decimal) -> Decimal:
        key = f"{market}/{execution_id}"
        if key in self._priced:
            return self._priced[key]
        held, entry = self.position(market)
        signed = size if side is Side.BUY else -size
        realized = ZERO
        if held == 0 or (held > 0) == (signed > 0):
            total = held + signed
            entry = (entry * abs(held) + price * size) / abs(total)
        else:
            closing = min(abs(held), size)
            realized = (price - entry) * closing * (1 if held > 0 else -1)
            total = held + signed
            if total == 0:
                entry = ZERO
            elif (total > 0) != (held > 0):
                entry = price  # flipped: the rest opens at the fill price
        self._positions[market] = (total, entry)
        realized = realized.quantize(_STEP, rounding=ROUND_HALF_UP)
        self._priced[key] = realized
        if len(self._priced) > _REMEMBERED:
            self._priced.popitem(last=False)
        return realized
