"""Reference price sources and types (§2.1), and the not-ready reasons."""

from __future__ import annotations

from strategy_helpers import D, T0, book, fill, live, prices, strategy, view

from pmm.core.model import Side
from pmm.strategy import PriceSource, PriceType


def test_mid_price_default():
    d = strategy().decide(view(ob=book(bids=[("99", "1")], asks=[("102", "1")])))
    assert d.ref_price == D("100.5") and d.ref_price_type == "mid_price"


def test_best_bid_and_best_ask():
    d = strategy(price_type=PriceType.BEST_BID).decide(view())
    assert d.ref_price == D("99.5") and d.ref_price_type == "best_bid"
    d = strategy(price_type=PriceType.BEST_ASK).decide(view())
    assert d.ref_price == D("100.5") and d.ref_price_type == "best_ask"


def test_last_price_and_its_mid_fallback():
    d = strategy(price_type=PriceType.LAST_PRICE).decide(view(ob=book(last_trade="100.2")))
    assert d.ref_price == D("100.2") and d.ref_price_type == "last_price"
    d = strategy(price_type=PriceType.LAST_PRICE).decide(view(ob=book()))
    assert d.ref_price == D("100") and d.ref_price_type == "mid_price"


def test_last_own_trade_price_is_the_fill_price_not_the_limit_price():
    """Fix §6.14: our quote at 99 is filled at 98.75 (say, price improvement): ref is 98.75."""
    s = strategy(price_type=PriceType.LAST_OWN_TRADE_PRICE, filled_order_delay=10.0)
    d = s.decide(view(now=T0))
    assert d.ref_price == D("100") and d.ref_price_type == "mid_price"  # no own trade yet
    order = live("b", Side.BUY, "99", "1", filled="0.4")
    s.on_fill(fill("b", Side.BUY, "98.75", "0.4", remaining="0.6"), order, now=T0 + 1)  # a partial fill
    d = s.decide(view(now=T0 + 20))
    assert s.last_own_trade_price == D("98.75")
    assert d.ref_price == D("98.75") and d.ref_price_type == "last_own_trade_price"
    assert prices(d, Side.BUY) == [D("97.76")]  # 98.75 * 0.99 = 97.7625, floored


def test_external_market_source():
    s = strategy(price_source=PriceSource.EXTERNAL_MARKET)
    ext = book(bids=[("200", "1")], asks=[("202", "1")], market="BTC-USD")
    d = s.decide(view(external_book=ext, external_ready=True, ob=book(bids=[("199", "1")], asks=[("205", "1")])))
    assert d.ref_price == D("201")
    assert prices(d, Side.BUY) == [D("198.99")]


def test_external_market_not_ready_means_not_quoting_with_reason():
    s = strategy(price_source=PriceSource.EXTERNAL_MARKET)
    ext = book(market="BTC-USD")
    d = s.decide(view(external_book=ext, external_ready=False))
    assert d.places == () and d.quoting is False
    assert d.reason.startswith("price source not ready:")
    assert d.ref_price is None
    d = s.decide(view(external_book=None))
    assert d.places == () and d.reason == "price source not ready: no external book"


def test_custom_api_price():
    s = strategy(price_source=PriceSource.CUSTOM_API, price_type=PriceType.CUSTOM)
    d = s.decide(view(custom_price=D("100")))
    assert d.ref_price == D("100") and d.ref_price_type == "custom"
    assert prices(d, Side.BUY) == [D("99")]


def test_custom_api_not_ready_says_why():
    s = strategy(price_source=PriceSource.CUSTOM_API, price_type=PriceType.CUSTOM)
    d = s.decide(view(custom_price=None, custom_price_reason="HTTP 503 from https://x"))
    assert d.places == () and not d.quoting
    assert d.reason == "price source not ready: HTTP 503 from https://x"


def test_custom_api_price_zero_is_not_ready():
    """Fix §6.20: a custom price of 0 is not a valid reference price."""
    s = strategy(price_source=PriceSource.CUSTOM_API, price_type=PriceType.CUSTOM)
    d = s.decide(view(custom_price=D("0")))
    assert d.places == () and d.reason.startswith("price source not ready:")


def test_book_not_ready_reason_and_no_quotes():
    d = strategy().decide(view(ready=False))
    assert d.places == () and d.quoting is False
    assert d.reason == "book not ready (resyncing)"


def test_empty_book_side_reason():
    d = strategy().decide(view(ob=book(asks=[])))
    assert d.places == () and d.reason == "book empty: no bid or no ask"


def test_maker_book_not_ready_blocks_quotes_from_other_sources_too():
    s = strategy(price_source=PriceSource.CUSTOM_API)
    d = s.decide(view(custom_price=D("100"), ready=False))
    assert d.places == ()
    assert d.ref_price == D("100")  # known, so reported
    assert d.reason == "book not ready (resyncing)"


def test_not_ready_book_freezes_live_quotes():
    """No refresh or spread cancels are computed from an untrustworthy book."""
    s = strategy()
    first = s.decide(view(now=T0))
    assert len(first.places) == 2
    orders = [live("b", Side.BUY, "99"), live("s", Side.SELL, "101")]
    d = s.decide(view(now=T0 + 100, orders=orders, ready=False))  # refresh long due
    assert d.cancels == () and d.places == ()
    assert d.reason == "book not ready (resyncing)"
