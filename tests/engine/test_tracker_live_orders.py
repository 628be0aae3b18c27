"""`TrackedOrder.as_live` is remembered between calls, and follows every change of the order."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pmm.core.model import ClientOrderId, OrderRequest, OrderType, Side
from pmm.engine.tracker import OrderTracker

D = Decimal


def _request(cid: str = "c1") -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), "BTC-USDT", Side.BUY, OrderType.LIMIT, D("0.010"), D("100.0"))


def test_the_same_live_order_until_the_order_changes():
    tracker = OrderTracker()
    order = tracker.add(_request(), 5.0)
    first = tracker.live_orders("BTC-USDT")
    assert first[0] is tracker.live_orders("BTC-USDT")[0]
    assert (first[0].price, first[0].amount, first[0].filled, first[0].cancel_pending) == (D("100.0"), D("0.010"), 0, False)

    tracker.mark_fill(ClientOrderId("c1"), "t1", D("100.0"), D("0.004"), D("0.006"), 6.0)
    assert tracker.live_orders("BTC-USDT")[0].filled == D("0.004")

    tracker.mark_cancel_sent(ClientOrderId("c1"), 7.0)
    assert tracker.live_orders("BTC-USDT")[0].cancel_pending

    order.filled = D("0.0040")  # equal value, another text: the live order shows the new one
    assert str(tracker.live_orders("BTC-USDT")[0].filled) == "0.0040"

    order.request = replace(order.request, price=D("99.9"))
    order.created_ts = 8.0
    live = order.as_live()
    assert (live.price, live.created_ts) == (D("99.9"), 8.0)
    assert tracker.live_orders("ETH-USDT") == ()


def test_the_remembered_live_order_is_not_part_of_equality():
    a, b = OrderTracker().add(_request(), 1.0), OrderTracker().add(_request(), 1.0)
    a.as_live()
    assert a == b and "_live" not in repr(a)
