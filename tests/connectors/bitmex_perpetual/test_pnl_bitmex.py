"""bitmex_perpetual/pnl.py: realized PnL of fills at the position's average entry (BitMEX's accounting)."""

from __future__ import annotations

from decimal import Decimal as D

from pmm.connectors.bitmex_perpetual.pnl import RealizedPnl
from pmm.core.model import Side

M = "BTC-USDT"


def test_adding_moves_the_average_and_reducing_realizes_against_it():
    book = RealizedPnl()
    assert book.on_fill(M, "a", Side.BUY, D("100"), D("1")) == 0
    assert book.on_fill(M, "b", Side.BUY, D("103"), D("2")) == 0
    assert book.position(M) == (D("3"), D("102"))
    assert book.on_fill(M, "c", Side.SELL, D("105"), D("1.5")) == D("4.5")   # (105 - 102) x 1.5
    assert book.position(M) == (D("1.5"), D("102"))


def test_a_flip_closes_the_position_and_opens_the_rest_at_the_fill_price():
    book = RealizedPnl()
    book.start_from(M, D("-2"), D("50"))  # a short BitMEX reported at start
    assert book.on_fill(M, "a", Side.BUY, D("40"), D("3")) == D("20")        # (50 - 40) x 2 on the short
    assert book.position(M) == (D("1"), D("40"))


def test_a_fill_met_twice_is_priced_once():
    book = RealizedPnl()
    book.on_fill(M, "a", Side.BUY, D("100"), D("1"))
    first = book.on_fill(M, "b", Side.SELL, D("110"), D("1"))
    assert book.on_fill(M, "b", Side.SELL, D("110"), D("1")) == first == D("10")
    assert book.position(M) == (D("0"), D("0"))


def test_a_fill_priced_from_history_does_not_move_the_live_position():
    book = RealizedPnl()
    book.start_from(M, D("1"), D("100"))
    book.learn(M, "old", D("7"))
    assert book.knows(M, "old") and book.on_fill(M, "old", Side.SELL, D("107"), D("1")) == D("7")
    assert book.position(M) == (D("1"), D("100"))


def test_pnl_keeps_eight_decimals():
    book = RealizedPnl()
    for n, price in enumerate(("100.1", "100.2", "100.4")):
        book.on_fill(M, str(n), Side.BUY, D(price), D("1"))
    # an average of 100.2333...: the PnL of closing all three is exactly the sum of the lots
    assert book.on_fill(M, "x", Side.SELL, D("101"), D("3")) == D("2.30000000")
