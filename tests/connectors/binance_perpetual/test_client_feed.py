"""BinanceWebSocket reconnects and rotation; BinanceFeed book sync, gap resync and funding on loopback."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from test_client_fakes import FakeBinance, fixture, wait_until

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.feed import BinanceFeed
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.binance_perpetual.streams import BinanceWebSocket
from pmm.core.book import OrderBook
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    ConnectionChanged,
    FundingInfoUpdated,
    Trade,
)
from pmm.core.model import Side

D = Decimal


def exchange_info() -> dict[str, Any]:
    info = fixture("rest_exchange_info.json")
    btc = dict(info["symbols"][0], symbol="BTCUSDT", pair="BTCUSDT", baseAsset="BTC")
    btc["filters"] = [dict(f) for f in btc["filters"]]
    btc["filters"][0] = {"filterType": "PRICE_FILTER", "maxPrice": "4529764", "minPrice": "556.80", "tickSize": "0.10"}
    btc["filters"][1] = {"filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001", "stepSize": "0.001"}
    return dict(info, symbols=[btc])


def depth(first: int, final: int, prev: int, bids: Any = (), asks: Any = ()) -> dict[str, Any]:
    return dict(fixture("ws_depth_update.json"), U=first, u=final, pu=prev, b=[list(x) for x in bids],
                a=[list(x) for x in asks])


def test_backoff_doubles_up_to_the_cap() -> None:
    ws = BinanceWebSocket(name="x", connector_id="x", url="ws://127.0.0.1:9", on_message=lambda m, t: None,
                          emit=lambda e: None, clock=LiveClock(), backoff_initial_s=0.5, backoff_max_s=4)
    assert [ws.backoff(n) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]


def test_reconnects_with_backoff_and_rotates() -> None:
    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        events: list[Any] = []
        got: list[Any] = []
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            await asyncio.sleep(0.01)

        ws = BinanceWebSocket(name="market", connector_id="binance_perpetual", url=fake.ws_url + "/market/stream",
                              on_message=lambda m, t: got.append(m), emit=events.append, clock=LiveClock(),
                              subscriptions=["btcusdt@aggTrade"], backoff_initial_s=0.05, sleep=sleep,
                              rotate_after_s=0.3)
        ws.start()
        try:
            await wait_until(lambda: ws.connected)
            assert fake.subscriptions == [("market", ["btcusdt@aggTrade"])]
            await fake.push("market", fixture("ws_agg_trade.json"))
            await wait_until(lambda: got == [fixture("ws_agg_trade.json")])  # unwrapped from {stream, data}
            await wait_until(lambda: ws.connections >= 2, timeout=3)  # rotated after 0.3 s
            rotated = [e for e in events if isinstance(e, ConnectionChanged) and not e.connected]
            assert "rotating" in rotated[0].reason
            await fake.drop("market")
            await wait_until(lambda: ws.connections >= 3)
            assert len(fake.subscriptions) >= 3  # subscribed again on every connection
        finally:
            await ws.stop()
            await fake.stop()
        ups = [e for e in events if isinstance(e, ConnectionChanged) and e.connected]
        assert len(ups) == ws.connections

    asyncio.run(main())


def test_unreachable_host_backs_off() -> None:
    async def main() -> None:
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            await asyncio.sleep(0)

        ws = BinanceWebSocket(name="depth", connector_id="x", url="ws://127.0.0.1:9/public/stream",
                              on_message=lambda m, t: None, emit=lambda e: None, clock=LiveClock(),
                              backoff_initial_s=0.5, backoff_max_s=2, sleep=sleep)
        ws.start()
        await wait_until(lambda: len(sleeps) >= 4)
        await ws.stop()
        assert sleeps[:4] == [0.5, 1, 2, 2]

    asyncio.run(main())


class Engine:
    """What the engine does with market events, enough to compare books."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.book = OrderBook("BTC-USDT")
        self.ready = False

    def emit(self, event: Any) -> None:
        self.events.append(event)
        if isinstance(event, BookSnapshot):
            self.book.apply_snapshot(event)
            self.ready = True
        elif isinstance(event, BookDelta) and self.ready:
            self.book.apply_delta(event)
        elif isinstance(event, BookResyncRequired):
            self.ready = False

    def count(self, kind: type) -> int:
        return sum(isinstance(e, kind) for e in self.events)


def test_feed_syncs_the_book_and_resyncs_after_a_gap() -> None:
    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        snapshots = iter([
            {"lastUpdateId": 100, "E": 1, "T": 1, "bids": [["25000.0", "1"]], "asks": [["25000.5", "2"]]},
            {"lastUpdateId": 130, "E": 2, "T": 2, "bids": [["24999.0", "5"]], "asks": [["25001.0", "6"]]},
        ])
        fake.reply("GET", c.EXCHANGE_INFO_PATH, (200, exchange_info(), {}))
        fake.reply("GET", c.DEPTH_PATH, lambda _: (200, next(snapshots), {}))
        fake.reply("GET", c.PREMIUM_INDEX_PATH, (200, fixture("rest_premium_index.json"), {}))
        engine = Engine()
        clock = LiveClock()
        feed = BinanceFeed(BinanceRestClient(fake.rest_url, clock=clock), ws_url=fake.ws_url, clock=clock,
                           snapshot_retry_s=0.05)
        with pytest.raises(RuntimeError, match="prepare"):
            feed.trading_rules("BTC-USDT")
        await feed.prepare(["BTC-USDT"])
        rules = feed.trading_rules("BTC-USDT")
        assert (rules.tick_size, rules.step_size, rules.min_size) == (D("0.10"), D("0.001"), D("0.001"))
        try:
            await feed.start(["BTC-USDT"], engine.emit)
            assert engine.count(FundingInfoUpdated) == 1  # seeded from premiumIndex
            await wait_until(lambda: engine.ready)
            assert engine.book.best_bid == D("25000.0")
            assert {route for route, _ in fake.subscriptions} == {"public", "market"}
            assert ("public", ["btcusdt@depth@100ms"]) in fake.subscriptions
            assert ("market", ["btcusdt@markPrice@1s", "btcusdt@aggTrade"]) in fake.subscriptions
            await fake.push("public", depth(95, 105, 94, bids=[["25000.0", "3"]]))
            await fake.push("public", depth(106, 110, 105, asks=[["25000.5", "0"], ["25000.6", "1"]]))
            await wait_until(lambda: engine.book.best_ask == D("25000.6"))
            assert engine.book.size_at(Side.BUY, D("25000.0")) == D("3")
            await fake.push("public", depth(120, 125, 118))  # pu 118 != 110: a gap
            await wait_until(lambda: engine.count(BookResyncRequired) == 2)
            resync_at = max(i for i, e in enumerate(engine.events) if isinstance(e, BookResyncRequired))
            await wait_until(lambda: engine.count(BookSnapshot) == 2)  # a fresh snapshot (130)
            assert any(isinstance(e, BookSnapshot) for e in engine.events[resync_at:])
            assert engine.book.best_bid == D("24999.0")
            await fake.push("public", depth(126, 135, 125, bids=[["24999.0", "7"]]))  # bridges 130
            await wait_until(lambda: engine.book.size_at(Side.BUY, D("24999.0")) == D("7"))
            assert engine.count(BookResyncRequired) == 2
            assert len(fake.calls("GET", c.DEPTH_PATH)) == 2
            assert fake.calls("GET", c.DEPTH_PATH)[0].param("limit") == "1000"
            await fake.push("market", fixture("ws_mark_price_update.json"))
            await fake.push("market", fixture("ws_agg_trade.json"))
            await wait_until(lambda: engine.count(Trade) == 1 and engine.count(FundingInfoUpdated) == 2)
            await fake.drop("public")  # a reconnect freezes the book until a new snapshot
            await wait_until(lambda: engine.count(BookResyncRequired) == 3)
        finally:
            await feed.stop()
            await fake.stop()

    asyncio.run(main())
