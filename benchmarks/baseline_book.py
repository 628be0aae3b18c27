"""The baseline of benchmark 1: a plain sortedcontainers `SortedDict` book, written the obvious way.

It takes the same events as pmm's book (Decimal prices and sizes) and answers the same reads, so
the ratio compares data structures, not inputs. Not used by pmm itself.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict

from pmm.core.model import Side

_TWO = Decimal(2)


class SortedDictBook:
    def __init__(self, market: str) -> None:
        self.market = market
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.update_id = 0
        self.ts = 0.0
        self.last_trade_price: Decimal | None = None

    def apply_snapshot(self, snapshot: Any) -> None:
        self.bids.clear()
        self.asks.clear()
        self._apply(snapshot.bids, snapshot.asks)
        self.update_id, self.ts = snapshot.update_id, snapshot.ts

    def apply_delta(self, delta: Any) -> None:
        self._apply(delta.bids, delta.asks)
        self.update_id, self.ts = delta.update_id, delta.ts

    def _apply(self, bids: Any, asks: Any) -> None:
        for book, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                if size > 0:
                    book[price] = size
                else:
                    book.pop(price, None)

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.peekitem(-1)[0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.peekitem(0)[0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / _TWO

    def _prices(self, side: Side) -> Any:
        return reversed(self.bids) if side is Side.BUY else iter(self.asks)

    def levels(self, side: Side, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        book = self.bids if side is Side.BUY else self.asks
        return [(p, book[p]) for p in islice(self._prices(side), depth)]

    def vwap_for_volume(self, side: Side, volume: Decimal) -> Decimal | None:
        book = self.bids if side is Side.BUY else self.asks
        remaining = volume
        cost = Decimal(0)
        for price in self._prices(side):
            size = book[price]
            take = size if size < remaining else remaining
            cost += take * price
            remaining -= take
            if remaining <= 0:
                return cost / volume
        return None
