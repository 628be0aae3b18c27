"""The top levels of a book as last published, and what changed since (for depth streams).

A venue's depth stream of N levels publishes the changes of the best N levels: a level that drops
out of the top N is sent as removed (size 0), one that enters is sent as new, even when the full
book only moved elsewhere. `PublishedBook(depth=N)` keeps what was last published and turns the
current book into exactly those changes; `depth=None` follows the whole book.
"""

from __future__ import annotations

from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.core.events import Level
from pmm.core.model import Side

_ZERO = Decimal(0)
Changes = tuple[tuple[Level, ...], tuple[Level, ...]]  # (bids, asks), best first, size 0 = removed


class PublishedBook:
    """What one depth stream last published for one market (see module docstring)."""

    __slots__ = ("depth", "bids", "asks")

    def __init__(self, depth: int | None) -> None:
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def update(self, book: OrderBook) -> Changes:
        """Publish the book's top levels now: returns the changes since the last publication."""
        changes = []
        for side, published in ((Side.BUY, self.bids), (Side.SELL, self.asks)):
            current = dict(book.iter_levels(side, self.depth))
            diff = [(p, s) for p, s in current.items() if published.get(p) != s]
            diff += [(p, _ZERO) for p in published if p not in current]
            diff.sort(key=lambda level: level[0], reverse=side is Side.BUY)
            published.clear()
            published.update(current)
            changes.append(tuple(diff))
        return changes[0], changes[1]

    def levels(self, side: Side) -> list[Level]:
        """The published levels of one side, best first."""
        source = self.bids if side is Side.BUY else self.asks
        return sorted(source.items(), key=lambda level: level[0], reverse=side is Side.BUY)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
