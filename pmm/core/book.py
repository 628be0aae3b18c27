"""A local L2 order book for one market.

Prices and sizes are Decimal at the boundary. Each side keeps a dict price -> size plus a sorted
list of prices (ascending), so top-of-book reads are O(1) and updates O(log n) + a list shift.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from decimal import Decimal

from pmm.core.events import BookDelta, BookSnapshot, Level
from pmm.core.model import Side

_TWO = Decimal(2)


class _BookSide:
    __slots__ = ("sizes", "prices")

    def __init__(self) -> None:
        self.sizes: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []  # ascending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def set(self, price: Decimal, size: Decimal) -> None:
        if size <= 0:
            if price in self.sizes:
                del self.sizes[price]
                del self.prices[bisect_left(self.prices, price)]
            return
        if price not in self.sizes:
            insort(self.prices, price)
        self.sizes[price] = size


class OrderBook:
    def __init__(self, market: str) -> None:
        self.market = market
        self._bids = _BookSide()
        self._asks = _BookSide()
        self.update_id = 0
        self.ts = 0.0
        self.last_trade_price: Decimal | None = None

    # --- updates ------------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        self._bids.clear()
        self._asks.clear()
        self._apply_levels(snapshot.bids, snapshot.asks)
        self.update_id = snapshot.update_id
        self.ts = snapshot.ts

    def apply_delta(self, delta: BookDelta) -> None:
        self._apply_levels(delta.bids, delta.asks)
        self.update_id = delta.update_id
        self.ts = delta.ts

    def _apply_levels(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        for price, size in bids:
            self._bids.set(price, size)
        for price, size in asks:
            self._asks.set(price, size)

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()

    # --- reads --------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Decimal | None:
        prices = self._bids.prices
        return prices[-1] if prices else None

    @property
    def best_ask(self) -> Decimal | None:
        prices = self._asks.prices
        return prices[0] if prices else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / _TWO

    @property
    def is_empty(self) -> bool:
        return not self._bids.prices or not self._asks.prices

    def levels(self, side: Side, depth: int | None = None) -> list[Level]:
        """Best first: bids descending, asks ascending."""
        return list(self.iter_levels(side, depth))

    def iter_levels(self, side: Side, depth: int | None = None) -> Iterator[Level]:
        book_side = self._bids if side is Side.BUY else self._asks
        prices = reversed(book_side.prices) if side is Side.BUY else iter(book_side.prices)
        for n, price in enumerate(prices):
            if depth is not None and n >= depth:
                return
            yield price, book_side.sizes[price]

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        book_side = self._bids if side is Side.BUY else self._asks
        return book_side.sizes.get(price, Decimal(0))

    def price_at_depth(self, side: Side, volume: Decimal) -> Decimal | None:
        """Price of the first level where cumulative volume (best first) reaches `volume`.

        With volume 0 this is the best price. None if the side is empty; the last level's
        price if the whole side holds less than `volume`.
        """
        cumulative = Decimal(0)
        last: Decimal | None = None
        for price, size in self.iter_levels(side):
            cumulative += size
            last = price
            if cumulative >= volume:
                return price
        return last

    def vwap_for_volume(self, side: Side, volume: Decimal) -> Decimal | None:
        """Average price to take `volume` from `side` (BUY = the bids). None if too thin."""
        remaining = volume
        cost = Decimal(0)
        for price, size in self.iter_levels(side):
            take = size if size < remaining else remaining
            cost += take * price
            remaining -= take
            if remaining <= 0:
                return cost / volume
        return None
