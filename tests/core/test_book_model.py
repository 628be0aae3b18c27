"""The order book against a naive model (a dict per side, Decimal arithmetic) on random sequences.

Prices come from several ticks at once (1, 0.5, 0.1, 0.01, 0.25, 1e-8) and from arbitrary decimals,
so the book must re-key itself when a finer price arrives; sizes include zero and negative
(removal) and values finer than any seen before.
"""

from __future__ import annotations

from decimal import Decimal as D
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.core import book as book_module
from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookSnapshot
from pmm.core.model import Side

VOLUMES = (D("0"), D("0.001"), D("0.3"), D("1"), D("1.0"), D("2.5"), D("7"), D("1E+3"))


class NaiveBook:
    def __init__(self) -> None:
        self.bids: dict[D, D] = {}
        self.asks: dict[D, D] = {}

    def apply(self, bids, asks, *, snapshot: bool) -> None:
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                if size > 0:
                    side[price] = size
                else:
                    side.pop(price, None)

    def levels(self, side: Side) -> list[tuple[D, D]]:
        book = self.bids if side is Side.BUY else self.asks
        return sorted(book.items(), reverse=side is Side.BUY)

    def vwap(self, side: Side, volume: D) -> D | None:
        remaining, cost = volume, D(0)
        for price, size in self.levels(side):
            take = min(size, remaining)
            cost += take * price
            remaining -= take
            if remaining <= 0:
                return cost / volume
        return None

    def price_at_depth(self, side: Side, volume: D) -> D | None:
        cumulative, last = D(0), None
        for price, size in self.levels(side):
            cumulative += size
            last = price
            if cumulative >= volume:
                return price
        return last


ticks = st.sampled_from([D("1"), D("0.5"), D("0.1"), D("0.01"), D("0.25"), D("1E-8")])
on_tick = st.builds(lambda n, t: (D(100) + n * t).normalize() if n % 3 else D(100) + n * t,
                    st.integers(-60, 60), ticks)
arbitrary = st.builds(lambda v, places: v.quantize(D(1).scaleb(-places)),
                      st.decimals(min_value=D("50"), max_value=D("150"), places=8, allow_nan=False,
                                  allow_infinity=False),
                      st.integers(0, 8))
prices = st.one_of(on_tick, on_tick, on_tick, arbitrary)
sizes = st.one_of(
    st.just(D("0")),
    st.just(D("-1")),
    st.decimals(min_value=D("0.000001"), max_value=D("1000"), places=6, allow_nan=False, allow_infinity=False),
    st.sampled_from([D("0.5"), D("1"), D("0.250"), D("2"), D("0.1")]),
)
levels = st.lists(st.tuples(prices, sizes), max_size=12)
message = st.tuples(st.booleans(), levels, levels)  # (is snapshot, bids, asks)


def _check(book: OrderBook, model: NaiveBook) -> None:
    for side in (Side.BUY, Side.SELL):
        want = model.levels(side)
        assert book.levels(side) == want
        assert list(book.iter_levels(side, 3)) == want[:3]
        assert book.levels(side, 2) == want[:2]
        for price, size in want[:3]:
            assert book.size_at(side, price) == size
        assert book.size_at(side, D("123.456789123")) == model.__dict__["bids" if side is Side.BUY else "asks"].get(
            D("123.456789123"), D(0))
        for volume in VOLUMES:
            assert book.price_at_depth(side, volume) == model.price_at_depth(side, volume)
            if volume > 0:
                assert book.vwap_for_volume(side, volume) == model.vwap(side, volume), (side, volume)
    bids, asks = model.levels(Side.BUY), model.levels(Side.SELL)
    assert book.best_bid == (bids[0][0] if bids else None)
    assert book.best_ask == (asks[0][0] if asks else None)
    assert book.is_empty == (not bids or not asks)
    assert book.mid == ((bids[0][0] + asks[0][0]) / 2 if bids and asks else None)


@settings(max_examples=300, deadline=None)
@given(st.lists(message, min_size=1, max_size=25))
def test_book_matches_a_naive_model(messages):
    _run_against_model(messages)


@settings(max_examples=100, deadline=None)
@given(st.lists(message, min_size=1, max_size=25))
def test_book_matches_a_naive_model_when_it_remembers_only_a_few_texts(messages):
    # the remembered price and size texts are forgotten all the time
    with mock.patch.object(book_module, "_PRICES_MAX", 2), mock.patch.object(book_module, "_SIZES_MAX", 3):
        _run_against_model(messages)


def _run_against_model(messages) -> None:
    book, model = OrderBook("X-Y"), NaiveBook()
    for n, (is_snapshot, bids, asks) in enumerate(messages):
        model.apply(bids, asks, snapshot=is_snapshot)
        if is_snapshot:
            book.apply_snapshot(BookSnapshot("X-Y", tuple(bids), tuple(asks), n, float(n), float(n)))
        else:
            book.apply_delta(BookDelta("X-Y", tuple(bids), tuple(asks), n, float(n), float(n)))
        assert book.update_id == n and book.ts == float(n)
        _check(book, model)


def test_a_finer_price_rekeys_the_book_and_keeps_cached_reads_right():
    book = OrderBook("X-Y")
    book.apply_snapshot(BookSnapshot("X-Y", ((D("100"), D("1")), (D("99"), D("2"))),
                                     ((D("101"), D("1")), (D("102"), D("2"))), 1, 0.0, 0.0))
    assert book.vwap_for_volume(Side.SELL, D("2")) == D("101.5")
    assert book.mid == D("100.5")
    book.apply_delta(BookDelta("X-Y", ((D("100.05"), D("0.5")),), ((D("100.999"), D("0.25")),), 2, 0.0, 0.0))
    assert book.best_bid == D("100.05") and book.best_ask == D("100.999")
    assert book.mid == D("100.5245")
    # 0.25 @ 100.999 + 1 @ 101 + 0.75 @ 102
    assert book.vwap_for_volume(Side.SELL, D("2")) == (D("0.25") * D("100.999") + D("101") + D("0.75") * D("102")) / 2
    assert book.price_at_depth(Side.BUY, D("1")) == D("100")  # 0.5 @ 100.05 + 1 @ 100
    assert book.size_at(Side.BUY, D("100.050")) == D("0.5")
    book.apply_delta(BookDelta("X-Y", ((D("100.05"), D("0.000")),), (), 3, 0.0, 0.0))
    assert book.best_bid == D("100") and book.size_at(Side.BUY, D("100.05")) == 0


def test_a_subclass_overriding_a_primitive_read_sees_every_derived_read():
    calls = []

    class Watched(OrderBook):
        def iter_levels(self, side, depth=None):
            calls.append("iter_levels")
            return super().iter_levels(side, depth)

        @property
        def best_bid(self):
            calls.append("best_bid")
            return OrderBook.best_bid.fget(self)

    book = Watched("X-Y")
    book.apply_snapshot(BookSnapshot("X-Y", ((D("99"), D("1")),), ((D("101"), D("1")),), 1, 0.0, 0.0))
    assert book.mid == D("100") and calls == ["best_bid"]
    assert book.vwap_for_volume(Side.SELL, D("1")) == D("101") and calls[-1] == "iter_levels"
    calls.clear()
    assert book.levels(Side.BUY) == [(D("99"), D("1"))] and calls == ["iter_levels"]
    calls.clear()
    assert book.price_at_depth(Side.BUY, D("1")) == D("99") and calls == ["iter_levels"]
    # the base class keeps its own fast reads
    assert OrderBook.mid is not Watched.mid


def test_many_distinct_volumes_do_not_grow_the_caches_without_bound():
    book = OrderBook("X-Y")
    book.apply_snapshot(BookSnapshot("X-Y", ((D("99"), D("1000")),), ((D("101"), D("1000")),), 1, 0.0, 0.0))
    for n in range(1, 1000):
        assert book.vwap_for_volume(Side.BUY, D(n) / 1000) == D("99")
        assert book.price_at_depth(Side.SELL, D(n)) == D("101")
    assert len(book._volumes) <= 64 and len(book._bids.reads) <= 64 and len(book._asks.reads) <= 64


def _delta(n: int, bids, asks) -> BookDelta:
    return BookDelta("X-Y", tuple(bids), tuple(asks), n, float(n), float(n))


def test_texts_of_the_same_value_are_the_same_level_and_remembered_texts_survive_a_finer_scale():
    book, model = OrderBook("X-Y"), NaiveBook()
    messages = [
        ([(D("100"), D("0.5")), (D("99"), D("1"))], [(D("101"), D("0.5"))]),
        # the same prices and sizes written differently: the same levels
        ([(D("100.0"), D("0.50")), (D("99E+0"), D("1.0"))], [(D("1.01E+2"), D("5E-1"))]),
        # a finer size and a finer price: both scales grow after "0.5", "100", "101" were remembered
        ([(D("98"), D("0.125"))], [(D("100.75"), D("0.5"))]),
        # the remembered texts again, now at the finer scales
        ([(D("100"), D("0.5")), (D("99"), D("0.5"))], [(D("101"), D("1.5")), (D("100.75"), D("0"))]),
        # a price seen on the bids, now on the asks (each side remembers its own keys)
        ([(D("99"), D("0"))], [(D("99"), D("2")), (D("101"), D("-1"))]),
    ]
    for n, (bids, asks) in enumerate(messages, start=2):
        model.apply(bids, asks, snapshot=False)
        book.apply_delta(_delta(n, bids, asks))
        _check(book, model)
    assert book.levels(Side.BUY) == [(D("100"), D("0.5")), (D("98"), D("0.125"))]


def test_many_distinct_prices_and_sizes_keep_the_remembered_texts_bounded():
    book, model = OrderBook("X-Y"), NaiveBook()
    for n in range(3000):
        # 3000 prices per side, 6000 sizes, each level replaced once and removed later
        bids = [(D(10_000 + n) / 10, D(2 * n + 1) / 1000)]
        asks = [(D(50_000 + n) / 10, D(2 * n + 2) / 1000)]
        if n >= 20:
            bids.append((D(10_000 + n - 20) / 10, D(0)))
            asks.append((D(50_000 + n - 20) / 10, D("0.000")))
        model.apply(bids, asks, snapshot=False)
        book.apply_delta(_delta(n, bids, asks))
        if n % 250 == 0:
            _check(book, model)
    _check(book, model)
    assert len(book._sizes) <= 4096 and len(book._bids.prices) <= 2048 and len(book._asks.prices) <= 2048
    assert len(book._bids.units) == len(book._bids.levels) == 20
