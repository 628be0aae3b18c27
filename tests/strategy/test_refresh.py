"""Refresh timers, tolerance, minimum spread, filled_order_delay, idempotence, next_wakeup."""

from __future__ import annotations

from strategy_helpers import D, T0, book, cancelled, fill, live, mark_cancel_pending, pending, prices, strategy, view

from pmm.core.model import Side

QUOTES = [live("b", Side.BUY, "99", created_ts=T0), live("s", Side.SELL, "101", created_ts=T0)]


def test_first_decision_places_and_sets_timers():
    s = strategy()
    assert s.next_wakeup() is None
    d = s.decide(view(now=T0))
    assert len(d.places) == 2
    assert s.create_timestamp == T0 + 30 and s.cancel_timestamp == T0 + 30
    assert s.next_wakeup() == T0 + 30


def test_idempotent_when_pending_orders_are_shown():
    s = strategy()
    v = view(now=T0)
    first = s.decide(v)
    shown = pending(first, T0)
    second = s.decide(view(now=T0, orders=shown))
    assert second.places == () and second.cancels == ()
    assert second.quoting is True
    # and even if the engine had not shown them yet, the timers stop a double placement
    third = s.decide(v)
    assert third.places == ()
    # a later book update between refreshes changes nothing either
    assert s.decide(view(now=T0 + 5, orders=shown, ob=book(bids=[("99.7", "1")]))).places == ()


def test_within_tolerance_keeps_orders_and_resets_timers():
    s = strategy(order_refresh_tolerance_pct=D("0.01"))
    s.decide(view(now=T0))
    moved = book(bids=[("100", "1")], asks=[("101", "1")])  # mid 100.5: 99.49 / 101.51, within 1 %
    d = s.decide(view(now=T0 + 30, orders=QUOTES, ob=moved))
    assert d.cancels == () and d.places == ()
    assert d.quoting is True
    assert any("within 1.00% order_refresh_tolerance_pct" in line for line in d.logs)
    assert s.create_timestamp == T0 + 60 and s.cancel_timestamp == T0 + 60
    assert s.next_wakeup() == T0 + 60


def test_outside_tolerance_cancels_all_then_recreates_once_gone():
    s = strategy(order_refresh_tolerance_pct=D("0.01"))
    s.decide(view(now=T0))
    moved = book(bids=[("102.5", "1")], asks=[("103.5", "1")])  # mid 103: 3 % away
    d = s.decide(view(now=T0 + 30, orders=QUOTES, ob=moved))
    assert cancelled(d) == {"b", "s"}
    assert {c.reason for c in d.cancels} == {"order refresh"}
    assert d.places == ()  # new orders only once the old ones are confirmed gone
    # cancels still in flight: nothing is re-cancelled, nothing created
    d2 = s.decide(view(now=T0 + 30.1, orders=mark_cancel_pending(QUOTES, d), ob=moved))
    assert d2.cancels == () and d2.places == ()
    assert d2.quoting is False
    assert d2.reason == "waiting for 2 order cancel(s) to be confirmed before re-quoting"
    # one confirmed, the other still pending: still waiting
    d3 = s.decide(view(now=T0 + 30.2, orders=mark_cancel_pending(QUOTES[1:], d), ob=moved))
    assert d3.places == ()
    d4 = s.decide(view(now=T0 + 30.3, ob=moved))
    assert prices(d4, Side.BUY) == [D("101.97")] and prices(d4, Side.SELL) == [D("104.03")]


def test_count_mismatch_is_outside_tolerance():
    s = strategy(order_refresh_tolerance_pct=D("0.5"))
    s.decide(view(now=T0))
    d = s.decide(view(now=T0 + 30, orders=QUOTES[:1]))  # only the buy is left; proposal has two
    assert cancelled(d) == {"b"}


def test_negative_tolerance_always_refreshes():
    s = strategy(order_refresh_tolerance_pct=D("-1"))
    s.decide(view(now=T0))
    d = s.decide(view(now=T0 + 30, orders=QUOTES))  # identical prices
    assert cancelled(d) == {"b", "s"}


def test_zero_tolerance_keeps_identical_prices():
    s = strategy(order_refresh_tolerance_pct=D("0"))
    s.decide(view(now=T0))
    assert s.decide(view(now=T0 + 30, orders=QUOTES)).cancels == ()


def test_no_refresh_before_cancel_time():
    s = strategy()
    s.decide(view(now=T0))
    far = book(bids=[("109.5", "1")], asks=[("110.5", "1")])
    d = s.decide(view(now=T0 + 29.9, orders=QUOTES, ob=far))
    assert d.cancels == () and d.places == ()


def test_tolerance_is_not_skewed_by_margin_held_by_our_own_quotes():
    """The live quotes' margin is added back: a tight account keeps its orders instead of churning."""
    s = strategy(order_refresh_tolerance_pct=D("0.01"))
    s.decide(view(now=T0, margin="25", fee="0"))  # 9.9 + 10.1 fit
    d = s.decide(view(now=T0 + 30, orders=QUOTES, margin="5", fee="0"))  # 20 is now held by them
    assert d.cancels == ()


def test_minimum_spread_cancels_every_evaluation():
    s = strategy(minimum_spread=D("0.005"))
    s.decide(view(now=T0))
    moved = book(bids=[("100.3", "1")], asks=[("101.3", "1")])  # mid 100.8: the sell is 0.2 % away
    d = s.decide(view(now=T0 + 5, orders=QUOTES, ob=moved))  # well before the refresh time
    assert cancelled(d) == {"s"}
    assert "minimum spread" in d.cancels[0].reason
    assert d.quoting is True  # the buy stays
    assert d.places == ()


def test_minimum_spread_cancel_of_everything_waits_for_refresh_time():
    s = strategy(minimum_spread=D("0.02"))
    s.decide(view(now=T0))
    d = s.decide(view(now=T0 + 5, orders=QUOTES))  # both 1 % away < 2 %
    assert cancelled(d) == {"b", "s"}
    d = s.decide(view(now=T0 + 6))
    assert d.places == () and d.quoting is False
    assert d.reason == "waiting order_refresh_time until 2026-01-01T00:00:30Z"
    assert s.next_wakeup() == T0 + 30


def test_complete_fill_starts_filled_order_delay():
    s = strategy(filled_order_delay=60.0, order_refresh_tolerance_pct=D("0.5"))
    s.decide(view(now=T0))
    s.on_fill(fill("b", Side.BUY, "99", "1", remaining="0"), QUOTES[0], now=T0 + 10)
    assert s.create_timestamp == T0 + 70
    assert s.cancel_timestamp == T0 + 30  # min(cancel, create)
    assert s.next_wakeup() == T0 + 30
    # at the refresh time there is no proposal (create time not reached): everything is cancelled
    d = s.decide(view(now=T0 + 30, orders=QUOTES[1:]))
    assert cancelled(d) == {"s"} and d.places == ()
    d = s.decide(view(now=T0 + 31))
    assert d.places == () and d.quoting is False
    assert d.reason == "waiting filled_order_delay until 2026-01-01T00:01:10Z"
    assert s.next_wakeup() == T0 + 70
    d = s.decide(view(now=T0 + 70))
    assert len(d.places) == 2


def test_partial_fill_starts_filled_order_delay_too():
    """Fix §6.14: the reference only starts the delay on a complete fill."""
    s = strategy(filled_order_delay=60.0)
    s.decide(view(now=T0))
    s.on_fill(fill("b", Side.BUY, "99", "0.3", remaining="0.7"), QUOTES[0], now=T0 + 10)
    assert s.create_timestamp == T0 + 70


def test_fill_delay_shortens_a_later_cancel_time():
    s = strategy(order_refresh_time=300.0, filled_order_delay=20.0)
    s.decide(view(now=T0))
    assert s.cancel_timestamp == T0 + 300
    s.on_fill(fill("b", Side.BUY, "99", "0.3", remaining="0.7"), QUOTES[0], now=T0 + 10)
    assert s.create_timestamp == T0 + 30 and s.cancel_timestamp == T0 + 30
    assert s.next_wakeup() == T0 + 30


def test_fills_of_other_markets_are_ignored():
    s = strategy()
    s.decide(view(now=T0))
    from dataclasses import replace

    s.on_fill(replace(fill("z", Side.BUY, "5", "1"), market="ETH-USDT"), None, now=T0 + 1)
    assert s.create_timestamp == T0 + 30


def test_fill_of_an_unknown_order_still_starts_the_delay():
    s = strategy(filled_order_delay=45.0)
    s.decide(view(now=T0))
    s.on_fill(fill("?", Side.SELL, "101", "1"), None, now=T0 + 1)
    assert s.create_timestamp == T0 + 46
