"""common/book_sync.py, common/live_orders.py, common/funding_watch.py: the venue-neutral bookkeeping."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.connectors.common.live_orders import LiveOrders
from pmm.core.clock import VirtualClock
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
)
from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    FundingPaymentReport,
    Liquidity,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
    TradeId,
)
from pmm.errors import ExchangeUnavailable

M = "BTC-USDT"


def test_book_sync_announces_one_resync_per_outage_and_goes_live_on_a_snapshot():
    events: list = []
    book = BookSync(M, events.append, VirtualClock(10.0))
    book.invalidate("starting")
    book.invalidate("still down")
    assert [type(e) for e in events] == [BookResyncRequired] and not book.live
    book.reset(BookSnapshot(M, ((D(1), D(1)),), ((D(2), D(1)),), 7, 10.0, 10.0), 7)
    book.advance(None, 7)  # a heartbeat: nothing to apply
    book.advance(BookDelta(M, ((D(1), D(0)),), (), 8, 10.0, 10.0), 8)
    assert book.live and book.last_seq == 8 and [type(e) for e in events][1:] == [BookSnapshot, BookDelta]
    book.invalidate("gap")
    assert isinstance(events[-1], BookResyncRequired) and book.resyncs == 3


def _request(cid: str, amount: str = "0.02") -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), M, Side.BUY, OrderType.LIMIT, D(amount), D("100"))


def _fill(cid: str, trade: str, amount: str, remaining: str) -> OrderFilled:
    return OrderFilled(ClientOrderId(cid), ExchangeOrderId("9"), TradeId(trade), M, Side.BUY, OrderType.LIMIT,
                       D("100"), D(amount), D(remaining), D("0"), "USDT", Liquidity.MAKER, PositionSide.BOTH, D("0"),
                       1.0, 1.0)


def test_live_orders_count_fills_once_and_forget_finished_orders():
    live = LiveOrders()
    live.placed(_request("a"), 1.0)
    assert live.on_event(OrderAccepted(ClientOrderId("a"), ExchangeOrderId("9"), M, 1.0, 1.0))
    assert live.get(ClientOrderId("a")).exchange_id == "9"
    assert live.on_event(_fill("a", "t1", "0.01", "0.01"))
    assert not live.on_event(_fill("a", "t1", "0.01", "0.01"))  # the venue repeated the trade
    assert live.get(ClientOrderId("a")).filled == D("0.01")
    assert live.on_event(_fill("a", "t2", "0.01", "0"))
    assert live.get(ClientOrderId("a")) is None
    assert not live.on_event(_fill("a", "t2", "0.01", "0"))  # repeated after the order ended
    live.placed(_request("b"), 1.0)
    live.on_event(OrderCancelled(ClientOrderId("b"), None, M, 1.0, 1.0))
    assert len(live) == 0


def test_live_orders_remember_a_bounded_number_of_trades():
    live = LiveOrders(max_trades=2)
    for trade in ("t1", "t2", "t3"):
        assert live.on_event(_fill("x", trade, "1", "0"))
    assert live.on_event(_fill("x", "t1", "1", "0"))  # forgotten: the oldest go first


def _payment(time_ms: int) -> FundingPaymentReport:
    return FundingPaymentReport(M, time_ms, D("0.0001"), D("-0.5"), "USDT", D("0.1"), D("50000"))


def test_funding_watch_emits_each_payment_once_and_retries_until_a_hinted_one_appears():
    clock, events, sleeps = VirtualClock(1000.0), [], []
    history: list[FundingPaymentReport] = [_payment(1)]
    calls = []

    async def read(since: float, market: str) -> list[FundingPaymentReport]:
        calls.append((since, market))
        if len(calls) == 3:
            history.append(_payment(2))  # the venue's history trails its push
        return list(history)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    watch = FundingWatch(read, events.append, clock, sleep, lookback_s=600.0, retry_delays_s=(0.5, 2.0, 5.0))

    async def scenario() -> None:
        assert await watch.fetch([M]) == 1
        assert await watch.fetch([M], expect_new=True) == 1  # found on its second try
        assert await watch.fetch([M]) == 0

    asyncio.run(scenario())
    assert [e.funding_time_ms for e in events] == [1, 2] and all(isinstance(e, FundingPaymentReceived) for e in events)
    assert sleeps == [0.5] and calls[0] == (400.0, M)


def test_funding_watch_survives_a_failed_read():
    async def read(since: float, market: str) -> list[FundingPaymentReport]:
        raise ExchangeUnavailable("down")

    async def sleep(seconds: float) -> None:
        pass

    watch = FundingWatch(read, lambda e: None, VirtualClock(0.0), sleep, retry_delays_s=())
    assert asyncio.run(watch.fetch([M], expect_new=True)) == 0
