from decimal import Decimal as D

from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookSnapshot
from pmm.core.model import Side


def _book() -> OrderBook:
    book = OrderBook("BTC-USDT")
    book.apply_snapshot(BookSnapshot(
        "BTC-USDT",
        bids=((D("99.5"), D("1")), (D("99.0"), D("2")), (D("98.5"), D("3"))),
        asks=((D("100.5"), D("1")), (D("101.0"), D("2")), (D("101.5"), D("3"))),
        update_id=1, ts=0.0, recv_ts=0.0))
    return book


def test_top_of_book_and_mid():
    book = _book()
    assert book.best_bid == D("99.5")
    assert book.best_ask == D("100.5")
    assert book.mid == D("100")


def test_delta_removes_and_inserts_levels_in_order():
    book = _book()
    book.apply_delta(BookDelta("BTC-USDT", bids=((D("99.5"), D("0")), (D("99.2"), D("4"))),
                               asks=((D("100.2"), D("0.5")),), update_id=2, ts=1.0, recv_ts=1.0))
    assert book.best_bid == D("99.2")
    assert book.best_ask == D("100.2")
    assert [p for p, _ in book.levels(Side.BUY)] == [D("99.2"), D("99.0"), D("98.5")]
    assert [p for p, _ in book.levels(Side.SELL, depth=2)] == [D("100.2"), D("100.5")]
    assert book.update_id == 2


def test_removing_an_absent_level_is_harmless():
    book = _book()
    book.apply_delta(BookDelta("BTC-USDT", bids=((D("50"), D("0")),), asks=(), update_id=2, ts=1.0, recv_ts=1.0))
    assert len(book.levels(Side.BUY)) == 3


def test_snapshot_replaces_everything():
    book = _book()
    book.apply_snapshot(BookSnapshot("BTC-USDT", bids=((D("10"), D("1")),), asks=((D("11"), D("1")),),
                                     update_id=5, ts=2.0, recv_ts=2.0))
    assert book.levels(Side.BUY) == [(D("10"), D("1"))]
    assert book.levels(Side.SELL) == [(D("11"), D("1"))]


def test_price_at_depth_and_vwap():
    book = _book()
    assert book.price_at_depth(Side.BUY, D("0")) == D("99.5")
    assert book.price_at_depth(Side.BUY, D("2.5")) == D("99.0")
    assert book.price_at_depth(Side.SELL, D("100")) == D("101.5")  # thinner than asked: last level
    # 1 @ 100.5 + 1 @ 101.0 = 201.5 / 2
    assert book.vwap_for_volume(Side.SELL, D("2")) == D("100.75")
    assert book.vwap_for_volume(Side.SELL, D("7")) is None


def test_empty_book_reads_none():
    book = OrderBook("X-Y")
    assert book.best_bid is None and book.best_ask is None and book.mid is None
    assert book.is_empty
