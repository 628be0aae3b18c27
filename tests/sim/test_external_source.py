"""A market fed from outside (`ExternalMarket`, `SimExchange.feed`): the book is the fed book, our
orders match against it like against a generated market, funding follows the fed times, nothing
fills while the fed book is resyncing, and the account survives export/restore."""

from __future__ import annotations

import json

import pytest

from pmm.core.book import OrderBook
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    Trade,
)
from pmm.core.model import (
    FundingInfo,
    Liquidity,
    OrderType,
    Side,
    TradeId,
    TradingRules,
)
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import ExternalMarket, SimMarketSettings

from .simkit import START, D, Recorder, order, settings, static_market

M = "BTC-USDT"


def fed_market(market: str = M) -> SimMarketSettings:
    return SimMarketSettings(market=market, generator=ExternalMarket())


def levels(*pairs: tuple[str, str]) -> tuple[tuple[D, D], ...]:
    return tuple((D(p), D(s)) for p, s in pairs)


def snapshot(t: float, bids: tuple, asks: tuple, uid: int = 1) -> BookSnapshot:
    return BookSnapshot(M, levels(*bids), levels(*asks), uid, t, t)


def delta(t: float, bids: tuple = (), asks: tuple = (), uid: int = 2) -> BookDelta:
    return BookDelta(M, levels(*bids), levels(*asks), uid, t, t)


def trade(t: float, price: str, amount: str, aggressor: Side, n: int = 1) -> Trade:
    return Trade(M, TradeId(f"v-{n}"), D(price), D(amount), aggressor, t, t)


def funding(t: float, mark: str, rate: str, next_ts: float) -> FundingInfoUpdated:
    return FundingInfoUpdated(FundingInfo(M, D(mark), D(mark), D(rate), next_ts, 8 * 3600.0), t, t)


BOOK = snapshot(START, bids=(("99.9", "1"), ("99.8", "2")), asks=(("100.1", "1"), ("100.2", "2")))


def fed_exchange(**kwargs) -> tuple[SimExchange, Recorder]:
    kwargs.setdefault("maker_fee", D("0.0002"))
    kwargs.setdefault("taker_fee", D("0.0005"))
    exchange = SimExchange(settings(fed_market(), **kwargs))
    recorder = Recorder.on(exchange)
    exchange.advance_to(START)
    exchange.feed(BOOK, START)
    return exchange, recorder


def submit(exchange: SimExchange, t: float, *args, **kwargs) -> None:
    exchange.submit_order(order(*args, **kwargs))
    exchange.advance_to(t)


def test_the_public_book_is_the_fed_book():
    exchange, _ = fed_exchange()
    reference = OrderBook(M)
    reference.apply_snapshot(BOOK)
    events = [
        delta(START + 1, bids=(("99.9", "0"), ("99.7", "3")), asks=(("100.1", "0.5"),)),
        delta(START + 2, asks=(("100.3", "4"), ("100.2", "0"))),
    ]
    for event in events:
        exchange.feed(event, event.ts)
        reference.apply_delta(event)
    book = exchange.book(M)
    for side in Side:
        assert book.levels(side) == reference.levels(side)
    assert book.levels(Side.BUY) == [(D("99.8"), D("2")), (D("99.7"), D("3"))]
    assert book.update_id == 2
    later = snapshot(START + 3, bids=(("98", "1"),), asks=(("99", "1"),), uid=9)
    exchange.feed(later, later.ts)
    assert book.levels(Side.BUY) == [(D("98"), D("1"))] and book.levels(Side.SELL) == [(D("99"), D("1"))]


def test_a_trade_through_our_bid_fills_it_as_maker():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "bid", Side.BUY, "0.5", "99.9")
    exchange.feed(trade(START + 2, "100.0", "5", Side.SELL), START + 2)  # above our bid: not reached
    exchange.feed(trade(START + 3, "99.9", "5", Side.BUY, 2), START + 3)  # a buy never fills our bid
    assert rec.fills("bid") == []
    exchange.feed(trade(START + 4, "99.8", "0.2", Side.SELL, 3), START + 4)
    exchange.feed(trade(START + 5, "99.9", "1", Side.SELL, 4), START + 5)
    fills = rec.fills("bid")
    assert [(f.price, f.amount, f.liquidity) for f in fills] == [
        (D("99.9"), D("0.2"), Liquidity.MAKER),
        (D("99.9"), D("0.3"), Liquidity.MAKER),
    ]
    assert fills[0].fee == D("99.9") * D("0.2") * D("0.0002")
    assert [f.ts for f in fills] == [START + 4, START + 5]
    assert exchange.open_orders(M) == []


def test_a_fed_book_update_crossing_our_bid_fills_it_at_our_price():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "bid", Side.BUY, "1.5", "100.0")
    exchange.feed(delta(START + 2, asks=(("100.05", "3"),)), START + 2)  # above our bid
    assert rec.fills("bid") == []
    exchange.feed(delta(START + 3, asks=(("99.95", "1"),)), START + 3)
    (fill,) = rec.fills("bid")
    assert (fill.price, fill.amount, fill.liquidity) == (D("100.0"), D("1"), Liquidity.MAKER)
    # A snapshot whose asks reach the bid fills the rest.
    exchange.feed(snapshot(START + 4, bids=(("99", "1"),), asks=(("99.5", "4"),), uid=5), START + 4)
    assert [f.amount for f in rec.fills("bid")] == [D("1"), D("0.5")]
    assert exchange.open_orders(M) == []


def test_a_crossing_limit_order_walks_the_fed_book_as_taker():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "take", Side.BUY, "2.5", "100.2")
    fills = rec.fills("take")
    assert [(f.price, f.amount, f.liquidity) for f in fills] == [
        (D("100.1"), D("1"), Liquidity.TAKER),
        (D("100.2"), D("1.5"), Liquidity.TAKER),
    ]
    assert fills[1].fee == D("100.2") * D("1.5") * D("0.0005")
    # The fed book is the venue's: our fills do not take liquidity out of it.
    assert exchange.book(M).levels(Side.SELL) == [(D("100.1"), D("1")), (D("100.2"), D("2"))]
    submit(exchange, START + 2, "mkt", Side.SELL, "1.5", order_type=OrderType.MARKET)
    assert [(f.price, f.amount) for f in rec.fills("mkt")] == [(D("99.9"), D("1")), (D("99.8"), D("0.5"))]


def test_funding_is_settled_at_the_fed_time_with_the_fed_rate_and_mark():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "long", Side.BUY, "1", order_type=OrderType.MARKET)
    due = START + 1234.5  # not on the simulated 8 h schedule: the venue's time wins
    exchange.feed(funding(START + 2, "100.5", "0.0003", due), START + 2)
    assert exchange.next_event_time() == due
    exchange.advance_to(due - 0.1)
    assert rec.of(FundingPaymentReceived) == []
    exchange.feed(funding(due - 0.05, "101", "0.0004", due), due - 0.05)  # the last word before settlement
    exchange.advance_to(due)
    (payment,) = rec.of(FundingPaymentReceived)
    assert payment.funding_time_ms == round(due * 1000)
    assert (payment.rate, payment.mark_price, payment.position_amount) == (D("0.0004"), D("101"), D("1"))
    assert payment.amount == -(D("1") * D("101") * D("0.0004"))
    # The venue still announces the time just settled for a moment: it is not settled twice.
    exchange.feed(funding(due + 1, "101", "0.0001", due), due + 1)
    exchange.advance_to(due + 2)
    assert len(rec.of(FundingPaymentReceived)) == 1
    nxt = due + 8 * 3600.0
    exchange.feed(funding(due + 3, "101", "0.0001", nxt), due + 3)
    assert exchange.next_event_time() == nxt


def test_when_the_venue_settles_before_our_clock_gets_there_it_is_settled_at_once():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "short", Side.SELL, "2", order_type=OrderType.MARKET)
    due = START + 600.0
    exchange.feed(funding(START + 2, "100", "0.0001", due), START + 2)
    # Our clock is at due - 0.5 when the venue already announces the next time.
    exchange.feed(funding(due - 0.5, "100", "0.0002", due + 8 * 3600.0), due - 0.5)
    (payment,) = rec.of(FundingPaymentReceived)
    assert payment.funding_time_ms == round(due * 1000)
    assert payment.ts == due - 0.5 and payment.amount == D("2") * D("100") * D("0.0002")
    assert exchange.next_event_time() == due + 8 * 3600.0


def test_nothing_fills_while_the_fed_book_is_resyncing():
    exchange, rec = fed_exchange()
    submit(exchange, START + 1, "bid", Side.BUY, "1", "99.9")
    exchange.feed(BookResyncRequired(M, "gap", START + 2, START + 2), START + 2)
    book = exchange.book(M)
    assert book.is_empty and book.levels(Side.BUY) == []
    exchange.feed(trade(START + 3, "99.0", "5", Side.SELL), START + 3)  # through our bid
    exchange.feed(delta(START + 4, asks=(("99.0", "5"),)), START + 4)  # a delta on an unknown book
    submit(exchange, START + 5, "cross", Side.BUY, "1", "101")  # would walk the old asks
    submit(exchange, START + 6, "mkt", Side.BUY, "1", order_type=OrderType.MARKET)
    assert rec.fills() == []
    assert rec.rejection("mkt").code == "no_liquidity"
    assert sorted(o.client_id for o in exchange.open_orders(M)) == ["bid", "cross"]
    assert book.is_empty
    # The venue's next snapshot is the book again; "cross" rests below it, so nothing fills ...
    exchange.feed(snapshot(START + 7, bids=(("99.5", "1"),), asks=(("101.5", "1"),), uid=20), START + 7)
    assert rec.fills() == [] and book.best_ask == D("101.5")
    # ... and trades fill again, best bid first.
    exchange.feed(trade(START + 8, "99.9", "2", Side.SELL, 2), START + 8)
    assert [(f.client_id, f.price) for f in rec.fills()] == [("cross", D("101")), ("bid", D("99.9"))]


def test_nothing_fills_before_the_first_fed_snapshot():
    exchange = SimExchange(settings(fed_market()))
    rec = Recorder.on(exchange)
    exchange.advance_to(START)
    submit(exchange, START + 1, "bid", Side.BUY, "1", "100")
    assert rec.of(OrderAccepted)
    exchange.feed(trade(START + 2, "99", "5", Side.SELL), START + 2)
    exchange.feed(delta(START + 3, asks=(("99", "5"),)), START + 3)
    assert rec.fills() == [] and exchange.book(M).is_empty


def test_the_mark_follows_the_fed_funding_info_and_the_mid_before_it():
    exchange, _ = fed_exchange()
    info = exchange.funding_info(M)
    assert info.mark_price == D("100.0")  # mid of the fed book while no mark was fed
    exchange.feed(funding(START + 1, "100.3", "0.0002", START + 900.0), START + 1)
    info = exchange.funding_info(M)
    assert (info.mark_price, info.rate, info.next_funding_ts) == (D("100.3"), D("0.0002"), START + 900.0)


def test_only_fed_markets_take_fed_events():
    generated = SimExchange(settings(static_market([("99", "1")], [("101", "1")])))
    with pytest.raises(ConfigError, match="ExternalMarket"):
        generated.feed(BOOK, START)
    exchange, _ = fed_exchange()
    other = BookSnapshot("ETH-USDT", (), (), 1, START, START)
    with pytest.raises(ConfigError, match="no market ETH-USDT"):
        exchange.feed(other, START)


def test_events_fed_before_the_exchange_started_start_it_at_their_time():
    exchange = SimExchange(settings(fed_market()))
    exchange.feed(funding(START + 5, "100", "0.0001", START + 60.0), START + 5)
    exchange.feed(BOOK, START + 6)
    assert exchange.next_event_time() == START + 60.0
    assert exchange.book(M).best_bid == D("99.9")


def test_set_trading_rules_replaces_the_placeholder_rules():
    exchange, rec = fed_exchange()
    rules = TradingRules(M, "BTC", "USDT", D("0.5"), D("0.01"), D("0.01"), D("10"), 5)
    exchange.set_trading_rules(M, rules)
    assert exchange.trading_rules(M) == rules and exchange.leverage(M) == 5
    submit(exchange, START + 1, "off", Side.BUY, "0.1", "99.3")
    assert rec.rejection("off").code == "off_tick"
    with pytest.raises(ConfigError):
        exchange.set_trading_rules(M, TradingRules("ETH-USDT", "ETH", "USDT", D("0.1"), D("0.1"), D("0.1"), D("1"), 5))


def test_export_restore_round_trip_keeps_the_account_and_treats_the_book_as_stale():
    exchange, _ = fed_exchange()
    submit(exchange, START + 1, "long", Side.BUY, "1", order_type=OrderType.MARKET)
    submit(exchange, START + 2, "bid", Side.BUY, "0.5", "99.0")
    exchange.feed(funding(START + 3, "100.2", "0.0001", START + 700.0), START + 3)
    state = json.loads(json.dumps(exchange.export_state()))

    restored = SimExchange(settings(fed_market(), maker_fee=D("0.0002"), taker_fee=D("0.0005")))
    after = Recorder.on(restored)
    restored.restore_state(state)
    assert restored.positions() == exchange.positions()
    assert restored.balances() == exchange.balances()
    assert [o.client_id for o in restored.open_orders(M)] == ["bid"]
    assert restored.next_event_time() == START + 700.0
    # The saved book is stale: a resync empties it and nothing fills until the next snapshot.
    restored.feed(BookResyncRequired(M, "restored", START + 4, START + 4), START + 4)
    assert restored.book(M).is_empty
    restored.feed(trade(START + 5, "98", "1", Side.SELL), START + 5)
    assert after.fills() == []
    restored.feed(snapshot(START + 6, bids=(("98.5", "1"),), asks=(("98.9", "1"),), uid=30), START + 6)
    assert [(f.client_id, f.price, f.amount) for f in after.fills()] == [("bid", D("99.0"), D("0.5"))]
