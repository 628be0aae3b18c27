"""Bybit's book rules with in-memory frames, then the feed on loopback: snapshot, deltas, gap ->
BookResyncRequired -> resubscription -> fresh snapshot; `u=1` restart; disconnect; tickers; trades."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from test_client_bybit_fakes import FakeBybit, StepClock, envelope, fixture

from pmm.connectors.bybit_perpetual.feed import BookSync
from pmm.connectors.bybit_perpetual.feed import BybitFeed
from pmm.connectors.bybit_perpetual.parse_events import OrderbookFrame
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.core.book import OrderBook
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    ConnectionChanged,
    Event,
    FundingInfoUpdated,
    Trade,
)
from pmm.core.model import Side

D = Decimal
MARKET = "BTC-USDT"


def frame(u: int, *, snapshot: bool = False, bids: tuple = (), asks: tuple = (), seq: int | None = None) -> OrderbookFrame:
    return OrderbookFrame(MARKET, snapshot or u == 1, u, seq if seq is not None else u * 10,
                          tuple((D(p), D(s)) for p, s in bids), tuple((D(p), D(s)) for p, s in asks), 1.0, 2.0)


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.book = OrderBook(MARKET)
        self.ready = False

    def __call__(self, event: Event) -> None:  # the engine's handling, reduced to the book
        self.events.append(event)
        match event:
            case BookSnapshot():
                self.book.apply_snapshot(event)
                self.ready = True
            case BookDelta() if self.ready:
                self.book.apply_delta(event)
            case BookResyncRequired():
                self.ready = False

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def test_snapshot_then_contiguous_deltas() -> None:
    sink = Sink()
    sync = BookSync(MARKET, sink, StepClock())
    assert sync.on_frame(frame(5, bids=(("100", "1"),))) is False  # a delta before any snapshot: dropped
    assert sink.events == []
    sync.on_frame(frame(10, snapshot=True, bids=(("100", "1"), ("99", "2")), asks=(("101", "1"),)))
    sync.on_frame(frame(11, bids=(("100", "0"), ("99.5", "3"))))
    sync.on_frame(frame(12, asks=(("101", "4"),), seq=999))
    assert [type(e) for e in sink.events] == [BookSnapshot, BookDelta, BookDelta]
    assert sink.book.levels(Side.BUY) == [(D("99.5"), D("3")), (D("99"), D("2"))]
    assert sink.book.best_ask == D("101") and sync.last_update_id == 12 and sync.last_seq == 999


def test_gap_freezes_the_book_and_asks_for_a_new_snapshot() -> None:
    sink = Sink()
    sync = BookSync(MARKET, sink, StepClock())
    sync.on_frame(frame(10, snapshot=True, bids=(("100", "1"),), asks=(("101", "1"),)))
    assert sync.on_frame(frame(12, bids=(("100", "5"),))) is True  # 11 is missing
    (resync,) = sink.of(BookResyncRequired)
    assert "u=12 after u=10" in resync.reason
    assert not sync.live and not sink.ready
    assert sync.on_frame(frame(13)) is False  # still frozen: deltas wait for the snapshot
    assert sync.on_frame(frame(14)) is False
    assert len(sink.of(BookResyncRequired)) == 1  # one notice per outage
    sync.on_frame(frame(20, snapshot=True, bids=(("100", "7"),), asks=(("101", "1"),)))
    assert sync.live and sink.ready
    assert sink.book.levels(Side.BUY) == [(D("100"), D("7"))]
    sync.on_frame(frame(21, bids=(("99", "1"),)))
    assert sync.last_update_id == 21


def test_duplicate_or_old_delta_is_a_gap_too() -> None:
    sink = Sink()
    sync = BookSync(MARKET, sink, StepClock())
    sync.on_frame(frame(10, snapshot=True))
    assert sync.on_frame(frame(10)) is True


def test_later_snapshot_and_u1_restart_reset_the_book() -> None:
    sink = Sink()
    sync = BookSync(MARKET, sink, StepClock())
    sync.on_frame(frame(10, snapshot=True, bids=(("100", "1"), ("98", "1")), asks=(("101", "1"),)))
    sync.on_frame(frame(11, snapshot=True, bids=(("97", "1"),), asks=(("102", "1"),)))  # level-1 style re-send
    assert sink.book.levels(Side.BUY) == [(D("97"), D("1"))]
    sync.on_frame(frame(1, bids=(("50", "1"),), asks=(("51", "1"),)))  # u=1: the service restarted
    assert sink.book.levels(Side.BUY) == [(D("50"), D("1"))] and sink.book.levels(Side.SELL) == [(D("51"), D("1"))]
    assert sync.last_update_id == 1 and sync.snapshots == 3
    sync.on_frame(frame(2, bids=(("50", "2"),)))
    assert sink.book.levels(Side.BUY) == [(D("50"), D("2"))]
    assert sink.of(BookResyncRequired) == []


# --- the feed on loopback --------------------------------------------------------------------------


def _book_message(u: int, kind: str, bids: list, asks: list) -> dict[str, Any]:
    return {"topic": "orderbook.200.BTCUSDT", "type": kind, "ts": 1672304484978 + u,
            "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": 7961638724 + u}}


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def test_feed_gap_resubscribes_and_recovers_and_reads_tickers_and_trades() -> None:
    async def main() -> None:
        fake = FakeBybit()
        snapshots = iter([100, 200, 300])

        def on_subscribe(route: str, topics: list[str]) -> list[dict[str, Any]]:
            out = []
            if "orderbook.200.BTCUSDT" in topics:
                u = next(snapshots)
                out.append(_book_message(u, "snapshot", [["16493.50", "0.006"]], [["16611.00", "0.029"]]))
            if "tickers.BTCUSDT" in topics:
                out.append({**fixture("ws_ticker_snapshot.json")})
            return out

        fake.on_subscribe = on_subscribe
        fake.reply("GET", "/v5/market/instruments-info", (200, fixture("rest_instruments_info.json"), {}))
        ticker = fixture("ws_ticker_snapshot.json")["data"]
        fake.reply("GET", "/v5/market/tickers", (200, envelope({"category": "linear", "list": [ticker]}), {}))
        await fake.start()
        sink = Sink()
        clock = LiveClock()
        rest = BybitRestClient(fake.rest_url, clock=clock)
        feed = BybitFeed(rest, ws_url=fake.ws_url, clock=clock, ws_options={"backoff_initial_s": 0.05})
        try:
            await feed.start([MARKET], sink)
            assert feed.trading_rules(MARKET).tick_size == D("0.10")
            await _until(lambda: sink.ready)
            (subscribe,) = [f for f in fake.ws_frames["public"] if f["op"] == "subscribe"]
            assert subscribe["args"] == ["orderbook.200.BTCUSDT", "tickers.BTCUSDT", "publicTrade.BTCUSDT"]
            assert sink.of(FundingInfoUpdated)[0].info.next_funding_ts == 1673280000.0  # seeded from REST
            await fake.push("public", _book_message(101, "delta", [["16493.50", "0.010"]], []))
            await fake.push("public", _book_message(103, "delta", [["16493.50", "0.020"]], []))  # 102 lost
            await _until(lambda: sink.of(BookResyncRequired)[1:] != [])  # [0] is the "starting" notice
            await _until(lambda: sink.ready and feed.book(MARKET).last_update_id == 200)
            ops = [(f["op"], f["args"]) for f in fake.ws_frames["public"] if f["op"] != "ping"]
            assert ops[1:] == [("unsubscribe", ["orderbook.200.BTCUSDT"]), ("subscribe", ["orderbook.200.BTCUSDT"])]
            assert sink.book.size_at(Side.BUY, D("16493.50")) == D("0.006")  # the resubscription's snapshot
            await fake.push("public", fixture("ws_ticker_delta.json"))
            await fake.push("public", fixture("ws_public_trade.json"))
            await _until(lambda: sink.of(Trade) != [])
            assert sink.of(FundingInfoUpdated)[-1].info.mark_price == D("17220.10")
            # A dropped socket freezes the book; the reconnection's snapshot thaws it.
            await fake.drop("public")
            await _until(lambda: not sink.ready)
            await _until(lambda: sink.ready and feed.book(MARKET).last_update_id == 300)
            changes = [(e.stream, e.connected) for e in sink.of(ConnectionChanged)]
            assert changes == [("public", True), ("public", False), ("public", True)]
        finally:
            await feed.stop()
            await fake.stop()

    asyncio.run(main())
