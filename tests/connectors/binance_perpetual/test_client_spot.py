"""The `binance` price source: Binance spot public market data (BinanceSpotFeed, SpotBookSync) and the
spot dialect of the loopback server (BinanceSpotServer, `pmm exchange-sim binance`).

Spot keeps its book with `U == previous u + 1` (futures: `pu == previous u`); the payloads are the
spot documentation's shapes (fixtures/README.md)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from helpers import BookReplica
from test_client_fakes import fixture, wait_until

from pmm.connectors.binance_perpetual.parse_events import DepthUpdate
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.binance_perpetual.server.spot import BinanceSpotServer
from pmm.connectors.binance_perpetual.spot_feed import (
    BinanceSpotFeed,
    SpotBookSync,
    parse_spot_depth_update,
    parse_spot_trading_rules,
)
from pmm.core.clock import LiveClock
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, ConnectionChanged, Trade
from pmm.core.model import Side
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

D = Decimal
SOL = "SOL-USDT"


# --- payloads ---------------------------------------------------------------------------------------


def test_a_spot_diff_has_no_pu_and_follows_the_previous_u() -> None:
    update = parse_spot_depth_update(fixture("spot_ws_depth_update.json"), "BNB-BTC", 1.0)
    assert (update.first_id, update.final_id, update.prev_final_id) == (157, 160, 156)
    assert update.delta.bids == ((D("0.0024"), D("10")),) and update.delta.asks == ((D("0.0026"), D("100")),)
    assert update.delta.ts == 1672515782.136
    with pytest.raises(ValueError, match="U=161 u=160"):
        parse_spot_depth_update(dict(fixture("spot_ws_depth_update.json"), U=161), "BNB-BTC", 1.0)


def test_spot_trading_rules_come_from_the_spot_filters() -> None:
    rules = parse_spot_trading_rules(fixture("spot_rest_exchange_info.json"), "ETH-BTC")
    assert (rules.base, rules.quote) == ("ETH", "BTC")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
        D("0.000001"), D("0.001"), D("0.001"), D("10"))
    older = fixture("spot_rest_exchange_info.json")
    older["symbols"][0]["filters"][2] = {"filterType": "MIN_NOTIONAL", "minNotional": "0.001", "applyToMarket": True,
                                         "avgPriceMins": 5}
    assert parse_spot_trading_rules(older, "ETH-BTC").min_notional == D("0.001")


def test_an_unlisted_spot_pair_names_price_source_market() -> None:
    with pytest.raises(ConfigError) as err:
        parse_spot_trading_rules(fixture("spot_rest_exchange_info.json"), "SOL-USDT")
    assert "Binance spot does not list `SOLUSDT` (`price_source_market` SOL-USDT)" in str(err.value)
    assert err.value.exit_code == 2


# --- the spot sequence rule ---------------------------------------------------------------------------


def _diff(first: int, final: int, bid: str = "1") -> DepthUpdate:
    payload = dict(fixture("spot_ws_depth_update.json"), s="SOLUSDT", U=first, u=final, b=[[bid, "1"]], a=[])
    return parse_spot_depth_update(payload, SOL, 1.0)


def _snapshot(last_id: int) -> BookSnapshot:
    return BookSnapshot(SOL, ((D("1"), D("1")),), ((D("2"), D("1")),), last_id, 1.0, 1.0)


def test_spot_sync_applies_events_that_continue_the_previous_u_and_resyncs_on_a_hole() -> None:
    events: list[Any] = []
    sync = SpotBookSync(SOL, events.append, LiveClock())
    for update in (_diff(95, 100), _diff(101, 103), _diff(104, 104)):
        sync.on_update(update)  # buffered until the snapshot
    assert sync.on_snapshot(_snapshot(100))
    # u <= lastUpdateId is in the snapshot already; 101..103 starts at lastUpdateId + 1; 104 follows 103.
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert [d.update_id for d in deltas] == [100, 103, 104]  # (u == lastUpdateId re-applies what the snapshot has)
    sync.on_update(_diff(105, 107))
    assert sync.last_update_id == 107 and not sync.needs_snapshot
    sync.on_update(_diff(109, 110))  # 108 was lost
    gap = events[-1]
    assert isinstance(gap, BookResyncRequired)
    assert gap.reason == "depth gap: U=109 but the previous u was 107 (expected U=108)"
    assert sync.needs_snapshot


def test_spot_sync_refuses_a_first_event_after_the_snapshot() -> None:
    events: list[Any] = []
    sync = SpotBookSync(SOL, events.append, LiveClock())
    sync.on_update(_diff(103, 105))  # 101 and 102 never arrived: the snapshot at 100 cannot be continued
    assert not sync.on_snapshot(_snapshot(100))
    assert not any(isinstance(e, BookSnapshot) for e in events)


# --- the feed against the spot server on loopback -----------------------------------------------------


def _settings() -> SimSettings:
    synthetic = SyntheticMarket(start_price=D("150"), book_interval_s=0.1, level_size=D("20"),
                                trade_rate_per_min=600.0, trade_size=D("1"))
    return SimSettings(markets=(SimMarketSettings(SOL, synthetic, tick_size=D("0.01"), step_size=D("0.01"),
                                                  min_size=D("0.01")),), seed=4)


def _same_book(local: BookReplica, server: BinanceSpotServer) -> bool:
    published = server.streams.books["SOLUSDT"]
    return local.live and local.matches(server.streams.last_update_id["SOLUSDT"], published.levels(Side.BUY),
                                        published.levels(Side.SELL))


def test_the_feed_keeps_the_spot_book_through_gaps_and_dropped_sockets() -> None:
    async def main() -> None:
        server = BinanceSpotServer(SimExchange(_settings()))
        await server.start()
        clock = LiveClock()
        feed = BinanceSpotFeed(BinanceRestClient(server.rest_url, clock=clock), ws_url=server.ws_url, clock=clock,
                               ws_options={"backoff_initial_s": 0.05})
        local = BookReplica(SOL)
        try:
            await feed.prepare([SOL])
            assert feed.trading_rules(SOL).tick_size == D("0.01")
            await feed.start([SOL], local)
            await wait_until(lambda: _same_book(local, server), timeout=20)
            await wait_until(lambda: any(isinstance(e, Trade) for e in local.events), timeout=20)
            # A lost diff: the next event's U jumps; the feed says so and resyncs from a new snapshot.
            server.faults.skip_depth_update_ids(2)
            await wait_until(lambda: any(isinstance(e, BookResyncRequired) and "depth gap: U=" in e.reason
                                         for e in local.events), timeout=20)
            await wait_until(lambda: _same_book(local, server), timeout=20)
            # A cut connection: frozen, reconnected, resynced.
            assert server.faults.drop_sockets("market") == 1
            await wait_until(lambda: any(isinstance(e, BookResyncRequired) and "disconnected" in e.reason
                                         for e in local.events), timeout=20)
            await wait_until(lambda: _same_book(local, server), timeout=20)
            ups = [e for e in local.events if isinstance(e, ConnectionChanged) and e.connected]
            assert len(ups) == 2 and {e.connector for e in ups} == {"binance"}
        finally:
            await feed.stop()
            await server.stop()

    asyncio.run(main())


def test_an_unlisted_pair_is_refused_before_anything_streams() -> None:
    async def main() -> None:
        server = BinanceSpotServer(SimExchange(_settings()))
        await server.start()
        clock = LiveClock()
        rest = BinanceRestClient(server.rest_url, clock=clock)
        try:
            with pytest.raises(ConfigError, match="`price_source_market` XRP-USDT"):
                await BinanceSpotFeed(rest, ws_url=server.ws_url, clock=clock).prepare(["XRP-USDT"])
        finally:
            await rest.close()
            await server.stop()

    asyncio.run(main())


# --- the server's spot dialect, read by a plain HTTP / WebSocket client ----------------------------------


def test_the_server_speaks_binance_spot() -> None:
    async def main() -> None:
        server = BinanceSpotServer(SimExchange(_settings()))
        await server.start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{server.rest_url}/api/v3/exchangeInfo?symbol=SOLUSDT") as resp:
                    info = await resp.json()
                (entry,) = info["symbols"]
                assert entry["symbol"] == "SOLUSDT" and entry["status"] == "TRADING"
                assert {f["filterType"] for f in entry["filters"]} >= {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}
                assert "contractType" not in entry  # a spot symbol, not a perpetual
                async with http.get(f"{server.rest_url}/api/v3/exchangeInfo?symbol=XRPUSDT") as resp:
                    assert resp.status == 400 and await resp.json() == {"code": -1121, "msg": "Invalid symbol."}
                async with http.get(f"{server.rest_url}/api/v3/depth?symbol=SOLUSDT&limit=5") as resp:
                    depth = await resp.json()
                assert set(depth) == {"lastUpdateId", "bids", "asks"} and len(depth["bids"]) == 5
                async with http.get(f"{server.rest_url}/api/v3/ticker/bookTicker?symbol=SOLUSDT") as resp:
                    ticker = await resp.json()
                assert set(ticker) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}
                assert ticker["bidPrice"] == depth["bids"][0][0] or depth["lastUpdateId"] < \
                    server.streams.last_update_id["SOLUSDT"]
                async with http.get(f"{server.rest_url}/fapi/v1/depth?symbol=SOLUSDT") as resp:
                    assert resp.status == 404  # futures paths are the perpetual server's
                async with http.ws_connect(f"{server.ws_url}/ws/solusdt@depth@100ms") as ws:
                    diffs = [json.loads((await ws.receive(timeout=20)).data) for _ in range(4)]
        finally:
            await server.stop()
        for diff in diffs:
            assert set(diff) == {"e", "E", "s", "U", "u", "b", "a"} and diff["e"] == "depthUpdate"
        for before, after in zip(diffs, diffs[1:], strict=False):
            assert after["U"] == before["u"] + 1

    asyncio.run(main())
