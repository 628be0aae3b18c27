"""Position management: closing-side quotes, take profit, stop loss, throttles, cleanup."""

from __future__ import annotations

from dataclasses import replace

from strategy_helpers import D, T0, book, cancelled, live, mark_cancel_pending, pending, position, strategy, view

from pmm.core.model import OrderPurpose, OrderType, PositionAction, PositionMode, PositionSide, Side
from pmm.strategy import POSITION_OPEN

LONG = PositionSide.LONG
SHORT = PositionSide.SHORT
TP = OrderPurpose.TAKE_PROFIT
SL = OrderPurpose.STOP_LOSS


def exits(**kw):
    base = dict(
        long_profit_taking_spread=D("0.01"),
        short_profit_taking_spread=D("0.01"),
        stop_loss_spread=D("0.05"),
        stop_loss_slippage_buffer=D("0.005"),
        time_between_stop_loss_orders=60.0,
        filled_order_delay=60.0,
    )
    base.update(kw)
    return strategy(**base)


CRASH = book(bids=[("94", "5")], asks=[("94.5", "5")])  # long 100 with sl 5 %: triggered


# --- mode switch ---------------------------------------------------------------------------------


def test_oneway_position_cancels_closing_side_quotes_only_and_stops_quoting():
    s = exits()
    quotes = [live("b", Side.BUY, "99"), live("s", Side.SELL, "101")]
    d = s.decide(view(now=T0, orders=quotes, positions=[position(LONG, "1", "100")]))
    assert cancelled(d) == {"s"}  # the sell would close the long: it goes; the buy stays (as reference)
    assert all(o.purpose is TP for o in d.places)  # no opening quotes
    assert d.quoting is False
    assert d.reason.startswith(POSITION_OPEN)


def test_hedge_position_cancels_no_quotes():
    s = exits(position_mode=PositionMode.HEDGE)
    quotes = [live("b", Side.BUY, "99"), live("s", Side.SELL, "101")]
    d = s.decide(view(now=T0, orders=quotes, positions=[position(LONG, "1", "100")]))
    assert d.cancels == ()
    assert [o.purpose for o in d.places] == [TP]


def test_reason_without_exits_configured():
    s = strategy()
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100")]))
    assert d.places == () and d.reason == POSITION_OPEN and d.ref_price == D("100")


# --- take profit ---------------------------------------------------------------------------------


def test_take_profit_rests_even_when_best_ask_is_below_entry():
    """Fix §6.2: the reference only places a TP once best ask > entry."""
    s = exits()
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100.6")]))  # book 99.5 x 100.5
    assert len(d.places) == 1
    tp = d.places[0]
    assert (tp.side, tp.price, tp.amount) == (Side.SELL, D("101.61"), D("1"))  # 101.606 rounded up
    assert tp.purpose is TP
    assert tp.order_type is OrderType.LIMIT
    assert tp.position_action is PositionAction.CLOSE
    assert tp.reduce_only is True
    assert tp.position_side is PositionSide.BOTH


def test_take_profit_quantization_sell_up_size_down():
    s = exits()
    d = s.decide(view(now=T0, positions=[position(LONG, "1.23456", "100.123")]))
    assert (d.places[0].price, d.places[0].amount) == (D("101.13"), D("1.234"))  # 101.12423 ceiled


def test_short_position_read_from_side_field():
    """Fix §6.7: amount is positive, the side says SHORT. TP is a buy, rounded down."""
    s = exits()
    quotes = [live("b", Side.BUY, "99"), live("s", Side.SELL, "101")]
    d = s.decide(view(now=T0, orders=quotes, positions=[position(SHORT, "2", "100.005")]))
    assert cancelled(d) == {"b"}  # buys would close the short
    (tp,) = d.places
    assert (tp.side, tp.price, tp.amount, tp.purpose) == (Side.BUY, D("99.00"), D("2"), TP)  # 99.00495 floored
    assert tp.reduce_only is True


def test_quote_at_the_tp_price_is_not_mistaken_for_a_tp():
    """Fix §6.5: exits are known by purpose, not by price equality."""
    s = exits(position_mode=PositionMode.HEDGE)
    quotes = [live("s", Side.SELL, "101")]
    d = s.decide(view(now=T0, orders=quotes, positions=[position(LONG, "1", "100")]))
    assert [(o.purpose, o.price) for o in d.places] == [(TP, D("101"))]


def test_hedge_mode_exit_position_sides():
    s = exits(position_mode=PositionMode.HEDGE)
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100"), position(SHORT, "3", "100")]))
    got = {(o.side, o.position_side, o.reduce_only, o.price, o.amount) for o in d.places}
    assert got == {
        (Side.SELL, PositionSide.LONG, False, D("101"), D("1")),
        (Side.BUY, PositionSide.SHORT, False, D("99"), D("3")),
    }


def test_take_profit_is_idempotent():
    s = exits()
    v = view(now=T0, positions=[position(LONG, "1", "100")])
    first = s.decide(v)
    second = s.decide(replace(v, orders=tuple(pending(first, T0))))
    assert second.places == () and second.cancels == ()
    assert s.decide(v).places == ()  # not shown yet: the TP throttle stops a double placement


def test_matching_take_profit_is_kept():
    s = exits()
    tp = live("tp", Side.SELL, "101", "1", purpose=TP)
    d = s.decide(view(now=T0, orders=[tp], positions=[position(LONG, "1", "100")]))
    assert d.places == () and d.cancels == ()


def test_take_profit_replaced_after_position_size_change():
    s = exits()
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100")]))
    tp = pending(d, T0, "tp")
    bigger = [position(LONG, "1.5", "100.2")]
    # within the TP throttle (filled_order_delay) the old TP keeps resting
    d = s.decide(view(now=T0 + 10, orders=tp, positions=bigger))
    assert d.places == () and d.cancels == ()
    assert s.next_wakeup() == T0 + 60
    # then it is cancelled first, and the new one placed once the old one is gone
    d = s.decide(view(now=T0 + 60, orders=tp, positions=bigger))
    assert cancelled(d) == {"tp0"} and d.places == ()
    d = s.decide(view(now=T0 + 60.1, orders=mark_cancel_pending(tp, d), positions=bigger))
    assert d.places == () and d.cancels == ()
    d = s.decide(view(now=T0 + 60.2, positions=bigger))
    assert [(o.purpose, o.price, o.amount) for o in d.places] == [(TP, D("101.21"), D("1.5"))]  # 101.202 up


def test_take_profit_replaced_at_once_when_not_placed_by_this_run():
    s = exits()
    old = live("tp", Side.SELL, "101", "2", purpose=TP)
    d = s.decide(view(now=T0, orders=[old], positions=[position(LONG, "1", "100")]))
    assert cancelled(d) == {"tp"}


def test_take_profit_partial_fill_before_or_after_position_update_is_kept():
    s = exits()
    tp = live("tp", Side.SELL, "101", "1", purpose=TP, filled="0.4")
    for amount in ("1", "0.6"):  # position update not seen yet / seen
        d = s.decide(view(now=T0 + 100, orders=[tp], positions=[position(LONG, amount, "100")]))
        assert d.places == () and d.cancels == ()


def test_take_profit_not_replaced_before_throttle_after_rejection():
    s = exits()
    s.decide(view(now=T0, positions=[position(LONG, "1", "100")]))
    d = s.decide(view(now=T0 + 1, positions=[position(LONG, "1", "100")]))  # the TP was rejected
    assert d.places == ()
    assert s.next_wakeup() == T0 + 60
    d = s.decide(view(now=T0 + 60, positions=[position(LONG, "1", "100")]))
    assert [o.purpose for o in d.places] == [TP]


def test_take_profit_throttle_is_per_side():
    s = exits(position_mode=PositionMode.HEDGE)
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100")]))
    orders = pending(d, T0, "l")
    d = s.decide(view(now=T0 + 1, orders=orders, positions=[position(LONG, "1", "100"), position(SHORT, "1", "100")]))
    assert [(o.side, o.purpose) for o in d.places] == [(Side.BUY, TP)]


# --- stop loss -----------------------------------------------------------------------------------


def test_stop_loss_priced_from_the_current_market():
    s = exits()
    d = s.decide(view(now=T0, ob=CRASH, positions=[position(LONG, "1", "100")]))
    (sl,) = d.places
    assert (sl.side, sl.price, sl.amount, sl.purpose) == (Side.SELL, D("93.53"), D("1"), SL)  # 94 * 0.995
    assert sl.order_type is OrderType.LIMIT and sl.reduce_only is True
    assert sl.position_action is PositionAction.CLOSE
    assert "stop loss triggered" in d.reason and d.reason.startswith(POSITION_OPEN)


def test_stop_loss_trigger_boundary():
    s = exits(long_profit_taking_spread=D("0"))
    at = book(bids=[("95", "1")], asks=[("95.5", "1")])
    above = book(bids=[("95.01", "1")], asks=[("95.5", "1")])
    assert s.decide(view(now=T0, ob=above, positions=[position(LONG, "1", "100")])).places == ()
    assert [o.purpose for o in s.decide(view(now=T0, ob=at, positions=[position(LONG, "1", "100")])).places] == [SL]


def test_short_stop_loss_buys_above_best_ask_rounded_up():
    s = exits()
    up = book(bids=[("105", "1")], asks=[("105.5", "1")])  # short 100, sl 5 %: ask 105.5 >= 105
    d = s.decide(view(now=T0, ob=up, positions=[position(SHORT, "1", "100")]))
    (sl,) = d.places
    assert (sl.side, sl.price, sl.purpose) == (Side.BUY, D("106.03"), SL)  # 106.0275 ceiled


def test_stop_loss_not_blocked_by_resting_take_profit():
    """Fix §6.3: the TP is cancelled and the SL placed in the same decision."""
    s = exits()
    tp = live("tp", Side.SELL, "101", "1", purpose=TP, created_ts=T0)
    d = s.decide(view(now=T0 + 1, ob=CRASH, orders=[tp], positions=[position(LONG, "1", "100")]))
    assert cancelled(d) == {"tp"}
    assert [(o.purpose, o.price) for o in d.places] == [(SL, D("93.53"))]


def test_stop_loss_not_blocked_by_take_profit_throttle():
    s = exits()
    d = s.decide(view(now=T0, positions=[position(LONG, "1", "100")]))  # TP placed: TP throttle runs
    tp = pending(d, T0, "tp")
    d = s.decide(view(now=T0 + 2, ob=CRASH, orders=tp, positions=[position(LONG, "1", "100")]))
    assert cancelled(d) == {"tp0"} and [o.purpose for o in d.places] == [SL]


def test_stop_loss_renewed_with_a_new_market_price():
    """Fix §6.3: the renewal is priced from the market, not from the previous order's price."""
    s = exits()
    pos = [position(LONG, "1", "100")]
    d = s.decide(view(now=T0, ob=CRASH, positions=pos))
    sl = pending(d, T0, "sl")
    assert s.next_wakeup() == T0 + 60
    d = s.decide(view(now=T0 + 30, ob=CRASH, orders=sl, positions=pos))
    assert d.places == () and d.cancels == ()
    lower = book(bids=[("90", "5")], asks=[("90.5", "5")])
    d = s.decide(view(now=T0 + 60, ob=lower, orders=sl, positions=pos))
    assert cancelled(d) == {"sl0"}
    assert [(o.purpose, o.price) for o in d.places] == [(SL, D("89.55"))]  # 90 * 0.995; not 93.53 * 0.995
    # idempotent while the renewal is in flight
    shown = mark_cancel_pending(sl, d) + pending(d, T0 + 60, "sl-new")
    d2 = s.decide(view(now=T0 + 60, ob=lower, orders=shown, positions=pos))
    assert d2.places == () and d2.cancels == ()


def test_stop_loss_expires_when_trigger_no_longer_holds_then_tp_returns():
    s = exits()
    pos = [position(LONG, "1", "100")]
    sl = pending(s.decide(view(now=T0, ob=CRASH, positions=pos)), T0, "sl")
    d = s.decide(view(now=T0 + 10, orders=sl, positions=pos))  # recovered, SL young: kept, no TP yet
    assert d.places == () and d.cancels == ()
    d = s.decide(view(now=T0 + 60, orders=sl, positions=pos))
    assert cancelled(d) == {"sl0"} and d.places == ()
    d = s.decide(view(now=T0 + 60.5, positions=pos))
    assert [o.purpose for o in d.places] == [TP]


def test_stop_loss_trigger_cancels_quotes_adding_to_the_position():
    s = exits()
    quotes = [live("b", Side.BUY, "93")]
    d = s.decide(view(now=T0, ob=CRASH, orders=quotes, positions=[position(LONG, "1", "100")]))
    assert "b" in cancelled(d)


def test_stop_loss_throttle_after_rejection_and_wakeup():
    s = exits(time_between_stop_loss_orders=20.0)
    pos = [position(LONG, "1", "100")]
    s.decide(view(now=T0, ob=CRASH, positions=pos))
    d = s.decide(view(now=T0 + 1, ob=CRASH, positions=pos))  # rejected: gone
    assert d.places == ()
    assert s.next_wakeup() == T0 + 20
    assert [o.purpose for o in s.decide(view(now=T0 + 20, ob=CRASH, positions=pos)).places] == [SL]


def test_book_not_ready_keeps_managing_take_profit_but_not_stop_loss():
    s = exits()
    d = s.decide(view(now=T0, ready=False, positions=[position(LONG, "1", "100")]))
    assert [o.purpose for o in d.places] == [TP]
    assert "stop loss not evaluated" in d.reason


def test_dust_position_says_no_exit_possible():
    s = exits()
    d = s.decide(view(now=T0, positions=[position(LONG, "0.0004", "100")]))
    assert d.places == ()
    assert "below the minimum order size" in d.reason


# --- position gone -------------------------------------------------------------------------------


def test_exit_orders_cancelled_when_position_disappears():
    s = exits()
    tp = live("tp", Side.SELL, "101", "1", purpose=TP)
    sl = live("sl", Side.SELL, "93", "1", purpose=SL)
    d = s.decide(view(now=T0, orders=[tp, sl]))
    assert cancelled(d) == {"tp", "sl"}
    assert all(c.reason.startswith("position closed") for c in d.cancels)


def test_hedge_exit_of_closed_side_cancelled_other_side_kept():
    s = exits(position_mode=PositionMode.HEDGE)
    tp_long = live("tpl", Side.SELL, "101", "1", purpose=TP)
    tp_short = live("tps", Side.BUY, "99", "1", purpose=TP)
    d = s.decide(view(now=T0, orders=[tp_long, tp_short], positions=[position(SHORT, "1", "100")]))
    assert cancelled(d) == {"tpl"}
    assert d.places == ()


def test_exit_throttles_do_not_carry_over_to_a_new_position():
    s = exits(time_between_stop_loss_orders=600.0, filled_order_delay=5.0)
    pos = [position(LONG, "1", "100")]
    assert [o.purpose for o in s.decide(view(now=T0, ob=CRASH, positions=pos)).places] == [SL]
    s.decide(view(now=T0 + 1))  # the SL filled: flat again
    d = s.decide(view(now=T0 + 20, ob=CRASH, positions=[position(LONG, "1", "99")]))  # a new long, hit at once
    assert [o.purpose for o in d.places] == [SL]
