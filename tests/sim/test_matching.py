"""Maker fills of our resting orders: by market trades through them and by the book crossing them."""

from __future__ import annotations

from decimal import Decimal

from pmm.core.events import OrderCancelled
from pmm.core.model import Liquidity, OrderType, Side
from pmm.sim.exchange import SimExchange

from .simkit import START, Recorder, book_record, order, replay_market, settings, write_replay

D = Decimal


def replay_venue(tmp_path, records, **kwargs) -> tuple[SimExchange, Recorder]:
    path = write_replay(tmp_path / "market.jsonl", records)
    ex = SimExchange(settings(replay_market(path), **kwargs))
    recorder = Recorder.on(ex)
    ex.advance_to(START)  # the first record (file time 0) lands at START
    return ex, recorder


def trade(ts: float, side: str, price: str, amount: str) -> dict:
    return {"type": "trade", "ts": ts, "side": side, "price": price, "amount": amount}


def test_trade_through_fills_our_bids_in_price_time_priority(tmp_path):
    ex, rec = replay_venue(
        tmp_path,
        [
            book_record(0, "99.0", "101.0"),
            trade(10, "sell", "99.5", "0.3"),
            trade(20, "buy", "100.5", "5"),  # the other side: our bids untouched
            trade(30, "sell", "99.4", "1.0"),
        ],
    )
    ex.submit_order(order("b1", Side.BUY, "0.5", "99.5"))
    ex.submit_order(order("b2", Side.BUY, "0.5", "99.5"))
    ex.submit_order(order("b3", Side.BUY, "1", "99.4"))
    ex.advance_to(START + 10)
    assert [(f.client_id, f.amount, f.remaining) for f in rec.fills()] == [("b1", D("0.3"), D("0.2"))]
    ex.advance_to(START + 30)
    fills = rec.fills()
    assert [(f.client_id, f.price, f.amount, f.remaining) for f in fills] == [
        ("b1", D("99.5"), D("0.3"), D("0.2")),
        ("b1", D("99.5"), D("0.2"), D("0")),
        ("b2", D("99.5"), D("0.5"), D("0")),
        ("b3", D("99.4"), D("0.3"), D("0.7")),  # the trade's 1.0 is used up
    ]
    assert all(f.liquidity is Liquidity.MAKER for f in fills)
    assert fills[0].fee == D("0.00597000")  # 99.5 * 0.3 * 0.02%
    (left,) = ex.open_orders()
    assert (left.client_id, left.filled) == ("b3", D("0.3"))
    (pos,) = ex.positions()
    assert pos.amount == D("1.3")


def test_trade_through_fills_asks_at_our_price_and_not_beyond_the_trade_price(tmp_path):
    ex, rec = replay_venue(tmp_path, [book_record(0, "99.0", "101.0"), trade(10, "buy", "100.7", "2")])
    ex.submit_order(order("a1", Side.SELL, "1", "100.5"))
    ex.submit_order(order("a2", Side.SELL, "1", "100.8"))  # above the trade price: no fill
    ex.advance_to(START + 10)
    assert [(f.price, f.amount) for f in rec.fills("a1")] == [(D("100.5"), D("1"))]
    assert rec.fills("a2") == []


def test_book_crossing_our_bid_fills_it_at_our_price_up_to_the_crossing_size(tmp_path):
    ex, rec = replay_venue(
        tmp_path,
        [
            book_record(0, "99.0", "101.0"),
            {"type": "snapshot", "ts": 10, "bids": [["98.0", "1"]],
             "asks": [["99.5", "1"], ["99.8", "1.5"], ["100.2", "5"]]},
            {"type": "delta", "ts": 20, "bids": [], "asks": [["99.9", "0.2"]]},
            {"type": "delta", "ts": 30, "bids": [], "asks": [["120.0", "1"]]},  # brings nothing that crosses
        ],
    )
    ex.submit_order(order("b", Side.BUY, "3", "100.0"))
    ex.advance_to(START + 5)
    assert rec.fills() == []
    ex.advance_to(START + 10)
    assert [(f.price, f.amount, f.remaining) for f in rec.fills("b")] == [
        (D("100.0"), D("1"), D("2")),
        (D("100.0"), D("1.5"), D("0.5")),
    ]
    assert all(f.liquidity is Liquidity.MAKER for f in rec.fills())
    ex.advance_to(START + 20)
    assert [(f.amount, f.remaining) for f in rec.fills("b")][-1] == (D("0.2"), D("0.3"))
    ex.advance_to(START + 30)
    assert len(rec.fills("b")) == 3
    (left,) = ex.open_orders()
    assert left.filled == D("2.7")


def test_book_crossing_our_ask(tmp_path):
    ex, rec = replay_venue(
        tmp_path,
        [book_record(0, "99.0", "101.0"), {"type": "snapshot", "ts": 10, "bids": [["100.6", "0.4"], ["100.2", "3"]],
                                           "asks": [["100.9", "1"]]}],
    )
    ex.submit_order(order("a", Side.SELL, "1", "100.5"))
    ex.advance_to(START + 10)
    assert [(f.price, f.amount, f.remaining) for f in rec.fills("a")] == [(D("100.5"), D("0.4"), D("0.6"))]


def test_resting_reduce_only_order_is_clipped_then_cancelled(tmp_path):
    ex, rec = replay_venue(tmp_path, [book_record(0, "99.0", "101.0"), trade(10, "buy", "102", "5")])
    ex.submit_order(order("long", Side.BUY, "0.5", order_type=OrderType.MARKET))
    ex.submit_order(order("tp", Side.SELL, "2", "101.5", reduce_only=True))
    ex.advance_to(START + 10)
    assert [(f.amount, f.remaining) for f in rec.fills("tp")] == [(D("0.5"), D("1.5"))]
    assert [e.client_id for e in rec.of(OrderCancelled)] == ["tp"]
    assert ex.positions() == [] and ex.open_orders() == []
