"""The simulated venue's book: a delta handed to it again right after it was applied changes nothing
(a backtest's engine reads the venue's book and hands it the deltas the venue already applied), while
an older delta applied again is applied."""

from __future__ import annotations

from decimal import Decimal as D

from pmm.core.events import BookDelta, BookSnapshot
from pmm.core.model import Side
from pmm.sim.market import VenueBook


def _delta(price: str, size: str) -> BookDelta:
    return BookDelta("BTC-USDT", ((D(price), D(size)),), (), 1, 0.0, 0.0)


def test_the_same_delta_again_is_a_no_op_but_an_older_one_is_applied():
    book = VenueBook("BTC-USDT")
    book.defer_snapshot(BookSnapshot("BTC-USDT", ((D("100"), D("1")),), ((D("101"), D("1")),), 0, 0.0, 0.0))
    first, second = _delta("100", "5"), _delta("100", "2")
    book.apply_delta(first)
    book.apply_delta(first)
    assert book.size_at(Side.BUY, D("100")) == D("5")
    book.apply_delta(second)
    book.apply_delta(first)  # not the last one applied: applied again
    assert book.size_at(Side.BUY, D("100")) == D("5")
    # A snapshot in between: the same delta object after it is applied again.
    book.apply_snapshot(BookSnapshot("BTC-USDT", ((D("100"), D("1")),), ((D("101"), D("1")),), 0, 0.0, 0.0))
    book.apply_delta(first)
    assert book.size_at(Side.BUY, D("100")) == D("5")
    book.defer_snapshot(BookSnapshot("BTC-USDT", ((D("100"), D("3")),), ((D("101"), D("1")),), 0, 0.0, 0.0))
    book.apply_delta(first)
    assert book.size_at(Side.BUY, D("100")) == D("5")
