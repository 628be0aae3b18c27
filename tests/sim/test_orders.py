"""Order entry: trading rules, every rejection code, taker walks, post-only, latency, cancels, setup."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmm.core.events import (
    BookSnapshot,
    FundingInfoUpdated,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
)
from pmm.core.model import ClientOrderId, Liquidity, MarginMode, OrderType, PositionMode, PositionSide, Side
from pmm.errors import ConfigError, OrderError, VenueSetupError
from pmm.sim.exchange import SimExchange

from .simkit import START, Recorder, order, settings, static_market

BIDS = [("99.9", "1"), ("99.5", "2"), ("99.0", "5")]
ASKS = [("100.1", "1"), ("100.5", "2"), ("101.0", "5")]


def venue(*markets, **kwargs) -> tuple[SimExchange, Recorder]:
    ex = SimExchange(settings(*(markets or (static_market(BIDS, ASKS),)), **kwargs))
    recorder = Recorder.on(ex)
    ex.advance_to(START)
    return ex, recorder


def test_trading_rules_come_from_the_market_settings():
    ex, _ = venue(static_market(BIDS, ASKS, tick_size=Decimal("0.5"), min_notional=Decimal("10"), max_leverage=25))
    rules = ex.trading_rules("BTC-USDT")
    assert (rules.base, rules.quote) == ("BTC", "USDT")
    assert rules.tick_size == Decimal("0.5")
    assert rules.min_notional == Decimal("10")
    assert rules.max_leverage == 25
    assert ex.markets() == ["BTC-USDT"]
    assert ex.leverage("BTC-USDT") == 20
    assert ex.position_mode() is PositionMode.ONEWAY
    assert ex.margin_mode("BTC-USDT") is MarginMode.CROSS


def test_market_names_must_be_base_dash_quote():
    with pytest.raises(ConfigError, match="BASE-QUOTE"):
        SimExchange(settings(static_market(BIDS, ASKS, market="BTCUSDT")))


def test_static_book_is_published_once_and_its_mark_every_second():
    ex, rec = venue(static_market(BIDS, ASKS, mark="100.2", rate="0.0003"))
    book = ex.book("BTC-USDT")
    assert (book.best_bid, book.best_ask) == (Decimal("99.9"), Decimal("100.1"))
    info = ex.funding_info("BTC-USDT")
    assert (info.mark_price, info.rate) == (Decimal("100.2"), Decimal("0.0003"))
    assert info.next_funding_ts == START + 8 * 3600
    # The book never moves, but the mark keeps ticking like a venue's mark-price stream.
    assert ex.next_event_time() == START + 1
    ex.advance_to(START + 5)
    assert len(rec.of(BookSnapshot)) == 1
    assert len(rec.of(FundingInfoUpdated)) >= 5


def _long_one(ex: SimExchange) -> None:
    ex.submit_order(order("setup", Side.BUY, "1", order_type=OrderType.MARKET))
    ex.advance_to(START)


REJECTIONS = [
    ("unknown_market", lambda ex: None, order("x", Side.BUY, "1", "99", market="ETH-USDT")),
    ("duplicate_client_id", lambda ex: ex.submit_order(order("x", Side.BUY, "1", "99")), order("x", Side.BUY, "1", "98")),
    ("invalid_amount", lambda ex: None, order("x", Side.BUY, "0", "99")),
    ("off_step", lambda ex: None, order("x", Side.BUY, "0.0015", "99")),
    ("invalid_price", lambda ex: None, order("x", Side.BUY, "1", None)),
    ("invalid_price", lambda ex: None, order("x", Side.BUY, "1", "-1")),
    ("off_tick", lambda ex: None, order("x", Side.BUY, "1", "99.95")),
    ("position_side_mismatch", lambda ex: None, order("x", Side.BUY, "1", "99", position_side=PositionSide.LONG)),
    ("below_min_size", lambda ex: None, order("x", Side.BUY, "0.001", "99")),  # min_size is 0.01 here
    ("below_min_notional", lambda ex: None, order("x", Side.BUY, "0.04", "99")),  # 3.96 < 5
    ("reduce_only_rejected", lambda ex: None, order("x", Side.SELL, "1", "101", reduce_only=True)),
    ("reduce_only_rejected", _long_one, order("x", Side.BUY, "1", "99", reduce_only=True)),
    ("post_only_would_cross", lambda ex: None, order("x", Side.BUY, "1", "100.1", OrderType.LIMIT_MAKER)),
    ("post_only_would_cross", lambda ex: None, order("x", Side.SELL, "1", "99.9", OrderType.LIMIT_MAKER)),
    ("insufficient_margin", lambda ex: None, order("x", Side.BUY, "30", "99")),  # 30*99/20 = 148.5 > 100
    ("insufficient_margin", lambda ex: None, order("x", Side.SELL, "30", None, OrderType.MARKET)),
]


@pytest.mark.parametrize(("code", "setup", "request_"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_each_rejection_code(code, setup, request_):
    ex, rec = venue(static_market(BIDS, ASKS, min_size=Decimal("0.01")), usdt="100")
    setup(ex)
    ex.advance_to(START)
    accepted_before = len(rec.of(OrderAccepted))
    open_before = ex.open_orders()
    ex.submit_order(request_)
    ex.advance_to(START + 1)
    rejected = rec.rejection("x")
    assert rejected.code == code
    assert rejected.market == request_.market
    assert rejected.reason  # says what and why
    assert len(rec.of(OrderAccepted)) == accepted_before
    assert ex.open_orders() == open_before


def test_no_liquidity_for_a_market_order_on_an_empty_side():
    ex, rec = venue(static_market(BIDS, [], mark="100"))
    ex.submit_order(order("x", Side.BUY, "1", order_type=OrderType.MARKET))
    ex.advance_to(START)
    assert rec.rejection("x").code == "no_liquidity"


def test_rejection_reasons_name_the_limits():
    ex, rec = venue(usdt="100")
    ex.submit_order(order("a", Side.BUY, "1", "99.95"))
    ex.submit_order(order("b", Side.BUY, "30", "99"))
    ex.advance_to(START)
    assert "0.1" in rec.rejection("a").reason and "99.95" in rec.rejection("a").reason
    assert "148.5" in rec.rejection("b").reason  # the margin it needed


def test_limit_order_that_crosses_walks_the_book_as_taker_and_rests_the_rest():
    ex, rec = venue()
    ex.submit_order(order("a", Side.BUY, "4", "100.5"))
    ex.advance_to(START)
    (accepted,) = rec.of(OrderAccepted)
    fills = rec.fills("a")
    assert [(f.price, f.amount, f.remaining) for f in fills] == [
        (Decimal("100.1"), Decimal("1"), Decimal("3")),
        (Decimal("100.5"), Decimal("2"), Decimal("1")),
    ]
    assert all(f.liquidity is Liquidity.TAKER and f.exchange_id == accepted.exchange_id for f in fills)
    assert [f.fee for f in fills] == [Decimal("0.05005000"), Decimal("0.10050000")]  # 0.05% taker
    (open_order,) = ex.open_orders("BTC-USDT")
    assert (open_order.client_id, open_order.price, open_order.filled) == ("a", Decimal("100.5"), Decimal("3"))
    (pos,) = ex.positions()
    assert (pos.side, pos.amount) == (PositionSide.LONG, Decimal("3"))
    assert pos.entry_price == (Decimal("100.1") + Decimal("201.0")) / 3
    assert len({f.trade_id for f in fills}) == 2


def test_market_order_walks_every_level_and_cancels_what_is_left():
    ex, rec = venue()
    ex.submit_order(order("m", Side.SELL, "10", order_type=OrderType.MARKET))
    ex.advance_to(START)
    fills = rec.fills("m")
    assert [(f.price, f.amount) for f in fills] == [
        (Decimal("99.9"), Decimal("1")),
        (Decimal("99.5"), Decimal("2")),
        (Decimal("99.0"), Decimal("5")),
    ]
    assert fills[-1].remaining == Decimal("2")
    assert [e.client_id for e in rec.of(OrderCancelled)] == ["m"]
    assert ex.open_orders() == []
    (pos,) = ex.positions()
    assert (pos.side, pos.amount) == (PositionSide.SHORT, Decimal("8"))


def test_post_only_order_that_does_not_cross_rests():
    ex, rec = venue()
    ex.submit_order(order("p", Side.BUY, "1", "100.0", OrderType.LIMIT_MAKER))
    ex.advance_to(START)
    assert rec.fills() == []
    assert [o.client_id for o in ex.open_orders()] == ["p"]


def test_requests_arrive_after_the_latency():
    ex, rec = venue(latency_s=0.25)
    ex.submit_order(order("a", Side.BUY, "1", "99"))
    ex.advance_to(START + 0.2)
    assert rec.of(OrderAccepted) == []
    assert ex.next_event_time() == START + 0.25
    ex.advance_to(START + 1)
    (accepted,) = rec.of(OrderAccepted)
    assert accepted.ts == START + 0.25


def test_open_orders_reserve_margin():
    ex, _ = venue()
    ex.set_leverage("BTC-USDT", 10)
    ex.submit_order(order("a", Side.BUY, "2", "99"))
    ex.advance_to(START)
    (usdt,) = ex.balances()
    assert usdt.margin_in_use == Decimal("19.8")
    assert usdt.available == Decimal("10000") - Decimal("19.8")


def test_cancel_live_unknown_and_finished_orders():
    ex, rec = venue()
    ex.submit_order(order("a", Side.BUY, "1", "99"))
    ex.submit_order(order("m", Side.BUY, "1", order_type=OrderType.MARKET))
    ex.advance_to(START)
    ex.cancel_order("BTC-USDT", ClientOrderId("a"))
    ex.cancel_order("BTC-USDT", ClientOrderId("a"))  # already cancelled by then
    ex.cancel_order("BTC-USDT", ClientOrderId("m"))  # filled
    ex.cancel_order("BTC-USDT", ClientOrderId("nope"))
    ex.advance_to(START + 1)
    assert [e.client_id for e in rec.of(OrderCancelled)] == ["a"]
    assert [e.client_id for e in rec.of(OrderCancelRejected)] == ["a", "m", "nope"]
    assert ex.open_orders() == []


def test_cancel_all_cancels_every_open_order_of_the_market():
    ex, rec = venue(static_market(BIDS, ASKS), static_market(BIDS, ASKS, market="ETH-USDT"))
    for cid, market in (("a", "BTC-USDT"), ("b", "BTC-USDT"), ("c", "ETH-USDT")):
        ex.submit_order(order(cid, Side.BUY, "1", "99", market=market))
    ex.advance_to(START)
    ex.cancel_all("BTC-USDT")
    ex.advance_to(START)
    assert sorted(e.client_id for e in rec.of(OrderCancelled)) == ["a", "b"]
    assert [o.client_id for o in ex.open_orders()] == ["c"]
    with pytest.raises(OrderError):
        ex.cancel_all("DOGE-USDT")


def test_leverage_must_be_within_limits():
    ex, _ = venue(static_market(BIDS, ASKS, max_leverage=50))
    ex.set_leverage("BTC-USDT", 50)
    assert ex.leverage("BTC-USDT") == 50
    for bad in (0, 51, -3):
        with pytest.raises(VenueSetupError, match="1 to 50"):
            ex.set_leverage("BTC-USDT", bad)
    with pytest.raises(VenueSetupError):
        ex.set_leverage("ETH-USDT", 5)


def test_position_and_margin_mode_refused_with_open_orders_or_positions():
    ex, _ = venue()
    ex.submit_order(order("a", Side.BUY, "1", "99"))
    ex.advance_to(START)
    with pytest.raises(VenueSetupError, match="open orders"):
        ex.set_position_mode(PositionMode.HEDGE)
    with pytest.raises(VenueSetupError, match="open orders"):
        ex.set_margin_mode("BTC-USDT", MarginMode.ISOLATED)
    ex.set_position_mode(PositionMode.ONEWAY)  # unchanged: fine
    ex.cancel_all("BTC-USDT")
    ex.submit_order(order("m", Side.BUY, "1", order_type=OrderType.MARKET))
    ex.advance_to(START)
    assert ex.open_orders() == [] and ex.positions()
    with pytest.raises(VenueSetupError, match="position"):
        ex.set_position_mode(PositionMode.HEDGE)
    ex.submit_order(order("c", Side.SELL, "1", order_type=OrderType.MARKET))
    ex.advance_to(START)
    assert ex.positions() == []
    ex.set_position_mode(PositionMode.HEDGE)
    ex.set_margin_mode("BTC-USDT", MarginMode.ISOLATED)
    assert ex.position_mode() is PositionMode.HEDGE
    assert ex.margin_mode("BTC-USDT") is MarginMode.ISOLATED


def test_every_answer_is_an_event_with_the_processing_time():
    ex, rec = venue(latency_s=0.5)
    ex.advance_to(START + 10)
    ex.submit_order(order("a", Side.BUY, "2", "100.1"))
    ex.advance_to(START + 20)
    private = [e for e in rec.events if isinstance(e, (OrderAccepted, OrderFilled, OrderRejected))]
    assert private and all(e.ts == START + 10.5 == e.recv_ts for e in private)
