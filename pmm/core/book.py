"""A local L2 order book for one market.

Prices and sizes are Decimal at the boundary: reads return the (price, size) levels that were given,
or a Decimal computed exactly from them (mid, VWAP). Inside, a price is an integer count of price
units (10**-k, k the most decimal places seen so far in this book), so prices need not share a
tick: the scale grows by itself, re-keying the book, when a finer price arrives. Sizes are turned
into integer size units the same way (kept per level for the reads that add them up: VWAP, price at
depth). Integers compare, hash and multiply several times faster than Decimals: hashing a fresh
Decimal alone costs more than converting it (benchmarks/README.md).

A delta's Decimals are fresh objects, so nothing about them is cached; but their text is cheap
(str() of a Decimal costs a third of `as_integer_ratio`) and repeats: the same prices near the touch
and the same sizes come back all the time. So a delta converts each price and size by one str() and
one lookup in a bounded dict text -> integer, remembered from the first time that text was seen
(str() determines the value exactly; the dicts are emptied when the scale they were computed at
grows). Snapshots convert directly and leave those dicts alone (a synthetic market sends a snapshot
every step and no deltas).

Each side keeps its keys in an ascending list with the best level last (bids: +units, asks: -units),
so changes near the touch move few list entries, and a dict key -> level. The mid is cached until
the touch changes; VWAP and price-at-depth results are cached until an update reaches a level they
used.

A subclass that overrides a primitive read (`best_bid`, `best_ask`, `is_empty`, `iter_levels`,
`size_at`) gets derived reads (`mid`, `levels`, `price_at_depth`, `vwap_for_volume`) built on
those primitives, so the override sees every read (see `__init_subclass__`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice

from pmm.core.events import BookDelta, BookSnapshot, Level
from pmm.core.model import Side

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TWO = Decimal(2)
_BUY = Side.BUY
# the bound when no cached read is to be invalidated: an int, as int-int comparisons are cheaper
# than int-float ones; a key beyond it only clears the read cache once more than needed
_NO_BOUND = 1 << 1000
_ANY_KEY = float("-inf")  # bound of a read that any update may change (a side thinner than asked)
_NO_MID = float("inf")
_CACHE_MAX = 64  # distinct volumes remembered per book (the strategy asks for a few)
_PRICES_MAX = 2048  # price texts remembered per side (about 230 kB when full)
_SIZES_MAX = 4096  # size texts remembered per book (about 460 kB when full)


def _places(denominator: int) -> int | None:
    """Decimal places needed to write x/denominator exactly; None if there are none."""
    k, power = 0, 1
    while power % denominator:
        k += 1
        power *= 10
        if power > denominator * 10**60:  # a prime factor other than 2 and 5
            return None
    return k


class _Scale:
    """Decimal -> integer units of 10**-places; `places` grows as finer values arrive."""

    __slots__ = ("places", "unit", "mults")

    def __init__(self) -> None:
        self.places = 0
        self.unit = 1  # 10**places
        self.mults: dict[int, int] = {1: 1}  # denominator -> unit // denominator

    def mult(self, denominator: int) -> int | None:
        """unit // denominator if that is exact (and remember it), else None."""
        if self.unit % denominator:
            return None
        m = self.mults[denominator] = self.unit // denominator
        return m

    def grow(self, denominator: int) -> int:
        """Make the scale fine enough for `denominator`; returns the factor existing units grow by."""
        places = _places(denominator)
        assert places is not None  # as_integer_ratio of a finite Decimal: 2**a * 5**b
        factor = 10 ** (places - self.places)
        self.places = places
        self.unit = 10**places
        self.mults = {1: self.unit}
        return factor


class _BookSide:
    __slots__ = ("sign", "keys", "levels", "units", "prices", "reads", "bound")

    def __init__(self, sign: int) -> None:
        self.sign = sign  # +1 bids, -1 asks: key = sign * price units, so the best key is last
        self.keys: list[int] = []  # ascending
        self.levels: dict[int, Level] = {}  # key -> (price, size) as given
        # key -> size in size units: every level a delta set, others once a read needed them
        # (a snapshot's levels are converted when read); always a subset of `levels`
        self.units: dict[int, int] = {}
        self.prices: dict[str, int] = {}  # str(price) -> key, for the prices seen lately
        # results of reads that walk the side (VWAP, price at depth), valid while no update
        # reaches a key >= bound, the deepest level any of them used
        self.reads: dict[object, Decimal] = {}
        self.bound: float = _NO_BOUND

    def clear(self) -> None:
        self.keys.clear()
        self.levels.clear()
        self.units.clear()
        self.forget_reads()

    def forget_reads(self) -> None:
        self.reads.clear()
        self.bound = _NO_BOUND

    def remember(self, what: object, result: Decimal, bound: float) -> Decimal:
        if len(self.reads) >= _CACHE_MAX:
            self.reads.clear()  # the bound stays: it is only ever too cautious
        self.reads[what] = result
        if bound < self.bound:
            self.bound = bound
        return result

    def rescale(self, factor: int) -> None:
        self.keys = [k * factor for k in self.keys]
        self.levels = {k * factor: v for k, v in self.levels.items()}
        self.units = {k * factor: v for k, v in self.units.items()}
        self.prices = {}
        self.forget_reads()


class OrderBook:
    __slots__ = ("market", "update_id", "ts", "last_trade_price", "_bids", "_asks", "_pscale", "_sscale",
                 "_sizes", "_mid_bid", "_mid_ask", "_mid", "_volumes", "__dict__")

    def __init__(self, market: str) -> None:
        self.market = market
        self._bids = _BookSide(1)
        self._asks = _BookSide(-1)
        self._pscale = _Scale()
        self._sscale = _Scale()
        self._sizes: dict[str, int] = {}  # str(size) -> size units, for the sizes seen lately
        self._mid_bid: float = _NO_MID  # the touch keys the cached mid was computed at
        self._mid_ask: float = _NO_MID
        self._mid: Decimal | None = None
        self._volumes: dict[Decimal, tuple[int, Decimal | None]] = {}  # see _volume
        self.update_id = 0
        self.ts = 0.0
        self.last_trade_price: Decimal | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if any(getattr(cls, name) is not getattr(OrderBook, name) for name in _PRIMITIVES):
            for name, generic in _GENERIC.items():
                if getattr(cls, name) is getattr(OrderBook, name):
                    setattr(cls, name, generic)

    # --- updates ------------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        self.clear()
        for side, levels in ((self._bids, snapshot.bids), (self._asks, snapshot.asks)):
            for level in levels:
                key = self._key(side, level[0])
                if level[1] > _ZERO:
                    side.levels[key] = level if level.__class__ is tuple else _as_level(level)
                else:
                    side.levels.pop(key, None)
            side.keys = sorted(side.levels)
        self.update_id = snapshot.update_id
        self.ts = snapshot.ts

    def apply_delta(self, delta: BookDelta) -> None:
        # The hot path. Per level: a price and a size seen lately are converted by one str() and
        # one dict lookup each; then three dict operations, and a list insert or delete only when
        # a level appears or goes.
        sizes = self._sizes
        for side, levels in ((self._bids, delta.bids), (self._asks, delta.asks)):
            if not levels:
                continue
            keys, book, units, prices, bound = side.keys, side.levels, side.units, side.prices, side.bound
            for level in levels:
                price, size = level
                try:
                    key = prices[str(price)]
                except KeyError:  # maybe a finer price: then both sides are re-keyed
                    key = self._price_seen(side, price, str(price))
                    keys, book, units, prices, bound = side.keys, side.levels, side.units, side.prices, side.bound
                text = str(size)
                q = sizes.get(text)
                if q is None:  # maybe a finer size: then the converted sizes are dropped
                    q = self._size_seen(size, text)
                    sizes, units, bound = self._sizes, side.units, side.bound
                if key >= bound:  # at or better than the deepest level a cached read used
                    side.reads.clear()
                    side.bound = bound = _NO_BOUND
                if q > 0:
                    if key not in book:
                        insort(keys, key)
                    book[key] = level if level.__class__ is tuple else (price, size)
                    units[key] = q
                elif key in book:
                    del book[key]
                    units.pop(key, None)
                    del keys[bisect_left(keys, key)]
        self.update_id = delta.update_id
        self.ts = delta.ts

    def _key(self, side: _BookSide, price: Decimal) -> int:
        """The key of `price` on `side`; grows the price scale (re-keying the book) if needed."""
        n, d = price.as_integer_ratio()
        m = self._pscale.mults.get(d)
        if m is None:
            m = self._pscale.mult(d)
            if m is None:  # finer than the scale: grow it and re-key both sides
                factor = self._pscale.grow(d)
                self._bids.rescale(factor)
                self._asks.rescale(factor)
                self._mid_bid = self._mid_ask = _NO_MID
                self._volumes.clear()  # their VWAP factors depend on the price scale
                m = self._pscale.mults[d] = self._pscale.unit // d
        return n * m * side.sign

    def _price_seen(self, side: _BookSide, price: Decimal, text: str) -> int:
        """The key of `price` (`text` = str(price)) on `side`, remembered by its text."""
        key = self._key(side, price)
        _remember(side.prices, text, key, _PRICES_MAX)
        return key

    def _size_seen(self, size: Decimal, text: str) -> int:
        """`size` (`text` = str(size)) in size units, remembered by its text; may grow the scale."""
        n, d = size.as_integer_ratio()
        q = n * (self._sscale.mults.get(d) or self._size_mult(d))
        _remember(self._sizes, text, q, _SIZES_MAX)
        return q

    def _size_mult(self, denominator: int) -> int:
        m = self._sscale.mult(denominator)
        if m is None:
            self._sscale.grow(denominator)  # drop every size converted at the old scale
            self._sizes.clear()
            for side in (self._bids, self._asks):
                side.units.clear()
                side.forget_reads()
            self._volumes.clear()
            m = self._sscale.mults[denominator] = self._sscale.unit // denominator
        return m

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._mid_bid = self._mid_ask = _NO_MID

    # --- reads --------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Decimal | None:
        side = self._bids
        return side.levels[side.keys[-1]][0] if side.keys else None

    @property
    def best_ask(self) -> Decimal | None:
        side = self._asks
        return side.levels[side.keys[-1]][0] if side.keys else None

    @property
    def mid(self) -> Decimal | None:
        bids, asks = self._bids.keys, self._asks.keys
        if not bids or not asks:
            return None
        bid, ask = bids[-1], asks[-1]
        if bid != self._mid_bid or ask != self._mid_ask:
            self._mid = (self._bids.levels[bid][0] + self._asks.levels[ask][0]) / _TWO
            self._mid_bid, self._mid_ask = bid, ask
        return self._mid

    @property
    def is_empty(self) -> bool:
        return not self._bids.keys or not self._asks.keys

    def levels(self, side: Side, depth: int | None = None) -> list[Level]:
        """Best first: bids descending, asks ascending."""
        book_side = self._bids if side is _BUY else self._asks
        book = book_side.levels
        return [book[k] for k in islice(reversed(book_side.keys), depth)]

    def iter_levels(self, side: Side, depth: int | None = None) -> Iterator[Level]:
        """Best first. Reads the book as it is at each step: do not change it while iterating."""
        book_side = self._bids if side is _BUY else self._asks
        book = book_side.levels
        for k in islice(reversed(book_side.keys), depth):
            yield book[k]

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        book_side = self._bids if side is _BUY else self._asks
        n, d = price.as_integer_ratio()
        m = self._pscale.mults.get(d) or self._pscale.mult(d)
        if m is None:  # finer than every price in the book
            return _ZERO
        level = book_side.levels.get(n * m * book_side.sign)
        return _ZERO if level is None else level[1]

    def _volume(self, volume: Decimal) -> tuple[int, Decimal | None]:
        """(`volume` in size units, its VWAP factor), cached; grows the size scale if needed.

        The VWAP is sum(size * price) / volume = cost * 10**-places / volume, cost an integer in
        price units times size units. When 1/volume is a finite decimal (1, 0.5, 2, 0.01 ...) the
        factor 10**-places / volume is exact, and one product by it gives the value of the division,
        rounded once, at a fraction of its cost. Otherwise the factor is None and the VWAP divides.
        """
        found = self._volumes.get(volume)
        if found is None:
            if len(self._volumes) >= _CACHE_MAX:  # callers may ask for many different volumes
                self._volumes.clear()
            n, d = volume.as_integer_ratio()
            want = n * (self._sscale.mults.get(d) or self._size_mult(d))
            places = self._pscale.places + self._sscale.places
            factor = _ONE.scaleb(-places) / volume if n > 0 and _places(n) is not None else None
            found = self._volumes[volume] = (want, factor)
        return found

    def _size_units(self, book_side: _BookSide, key: int) -> int | None:
        """The level's size in size units (and keep it); None if the size scale had to grow."""
        n, d = book_side.levels[key][1].as_integer_ratio()
        m = self._sscale.mults.get(d)
        if m is None:
            unit = self._sscale.unit
            m = self._size_mult(d)
            if self._sscale.unit != unit:
                return None
        q = book_side.units[key] = n * m
        return q

    def price_at_depth(self, side: Side, volume: Decimal) -> Decimal | None:
        """Price of the first level where cumulative volume (best first) reaches `volume`.

        With volume 0 this is the best price. None if the side is empty; the last level's
        price if the whole side holds less than `volume`.
        """
        book_side = self._bids if side is _BUY else self._asks
        keys = book_side.keys
        if not keys:
            return None
        what = ("depth", volume)
        found = book_side.reads.get(what)
        if found is not None:
            return found
        want = self._volume(volume)[0]
        units = book_side.units
        cumulative = 0
        for key in reversed(keys):
            q = units.get(key)
            if q is None:
                q = self._size_units(book_side, key)
                if q is None:  # a finer size: start again at the new scale
                    return self.price_at_depth(side, volume)
            cumulative += q
            if cumulative >= want:
                return book_side.remember(what, book_side.levels[key][0], key)
        return book_side.remember(what, book_side.levels[keys[0]][0], _ANY_KEY)

    def vwap_for_volume(self, side: Side, volume: Decimal) -> Decimal | None:
        """Average price to take `volume` from `side` (BUY = the bids). None if too thin."""
        book_side = self._bids if side is _BUY else self._asks
        found = book_side.reads.get(volume)
        if found is not None:
            return found
        want, factor = self._volumes.get(volume) or self._volume(volume)
        if want <= 0:
            return _generic_vwap(self, side, volume)
        units = book_side.units
        remaining = want
        cost = 0  # sum of size units * key
        for key in reversed(book_side.keys):
            try:
                q = units[key]
            except KeyError:
                converted = self._size_units(book_side, key)
                if converted is None:  # a finer size: start again at the new scale
                    return self.vwap_for_volume(side, volume)
                q = converted
            if q < remaining:
                cost += q * key
                remaining -= q
            else:
                cost += remaining * key
                if book_side.sign < 0:
                    cost = -cost
                if factor is not None:
                    result = Decimal(cost) * factor
                else:
                    result = Decimal(cost).scaleb(-(self._pscale.places + self._sscale.places)) / volume
                reads = book_side.reads
                if len(reads) >= _CACHE_MAX:
                    reads.clear()  # the bound stays: it is only ever too cautious
                reads[volume] = result
                if key < book_side.bound:
                    book_side.bound = key
                return result
        return None


def _remember(seen: dict[str, int], text: str, value: int, limit: int) -> None:
    """seen[text] = value, keeping `seen` under `limit` entries."""
    if len(seen) >= limit:  # forget the older half (dicts keep insertion order)
        for old in list(islice(seen, limit // 2)):
            del seen[old]
    seen[text] = value


def _as_level(level: Iterable[Decimal]) -> Level:
    price, size = level
    return (price, size)


# --- derived reads built on the primitive reads, for subclasses that override those -------------

_PRIMITIVES = ("best_bid", "best_ask", "is_empty", "iter_levels", "size_at")


def _generic_mid(self: OrderBook) -> Decimal | None:
    bid, ask = self.best_bid, self.best_ask
    if bid is None or ask is None:
        return None
    return (bid + ask) / _TWO


def _generic_levels(self: OrderBook, side: Side, depth: int | None = None) -> list[Level]:
    """Best first: bids descending, asks ascending."""
    return list(self.iter_levels(side, depth))


def _generic_price_at_depth(self: OrderBook, side: Side, volume: Decimal) -> Decimal | None:
    cumulative = _ZERO
    last: Decimal | None = None
    for price, size in self.iter_levels(side):
        cumulative += size
        last = price
        if cumulative >= volume:
            return price
    return last


def _generic_vwap(self: OrderBook, side: Side, volume: Decimal) -> Decimal | None:
    remaining = volume
    cost = _ZERO
    for price, size in self.iter_levels(side):
        take = size if size < remaining else remaining
        cost += take * price
        remaining -= take
        if remaining <= 0:
            return cost / volume
    return None


_GENERIC = {
    "mid": property(_generic_mid),
    "levels": _generic_levels,
    "price_at_depth": _generic_price_at_depth,
    "vwap_for_volume": _generic_vwap,
}
