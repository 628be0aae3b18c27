"""The `gate_io` spot price source: its parsers on documented payloads, and the feed against the spot
server (`pmm exchange-sim gate_io`), a skipped book id included."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from venue_servers import running_server, serve_cli, stop_cli

from pmm.connectors import registry
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.spot_feed import (
    GateSpotFeed,
    parse_spot_pair,
    parse_spot_snapshot,
    parse_spot_trade,
    parse_spot_update,
)
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, Trade
from pmm.core.model import Side
from pmm.errors import ConfigError

# From the spot docs' example responses (APIv4 "Get details of a specific currency pair", "Retrieve
# order book", and the spot WebSocket v4 pushes), with BTC_USDT for the pair.
PAIR = {"id": "BTC_USDT", "base": "BTC", "quote": "USDT", "fee": "0.2", "min_base_amount": "0.0001",
        "min_quote_amount": "1", "amount_precision": 4, "precision": 2, "trade_status": "tradable",
        "sell_start": 1516378650, "buy_start": 1516378650}
BOOK = {"id": 123456, "current": 1623898993123, "update": 1623898993121,
        "asks": [["1.52", "1.151"], ["1.53", "1.218"]], "bids": [["1.17", "201.863"], ["1.16", "153.6"]]}
UPDATE = {"t": 1606294781123, "e": "depthUpdate", "E": 1606294781, "s": "BTC_USDT", "U": 48776301, "u": 48776306,
          "b": [["19137.74", "0.0001"], ["19088.37", "0"]], "a": [["19137.75", "0.6135"]]}
TRADE = {"id": 309143071, "create_time": 1606292218, "create_time_ms": "1606292218213.4578", "side": "sell",
         "currency_pair": "BTC_USDT", "amount": "16.4700000000", "price": "0.4705000000"}


def test_spot_parsers_on_documented_payloads():
    rules = parse_spot_pair(PAIR, "BTC-USDT")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
        Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"), Decimal(1))
    with pytest.raises(ConfigError, match="does not list"):
        parse_spot_pair(PAIR, "ETH-USDT")
    snap_id, snap = parse_spot_snapshot(BOOK, "BTC-USDT", 1.0)
    assert snap_id == 123456 and snap.bids[0] == (Decimal("1.17"), Decimal("201.863"))
    update = parse_spot_update(UPDATE, 1.0)
    assert (update.first, update.last, update.bids[1]) == (48776301, 48776306, (Decimal("19088.37"), Decimal(0)))
    trade = parse_spot_trade(TRADE, "BTC-USDT", 1.0)
    assert (trade.aggressor, trade.amount, trade.price) == (Side.SELL, Decimal("16.47"), Decimal("0.4705"))
    assert trade.ts == pytest.approx(1606292218.2134578)


def test_gate_io_is_a_price_source():
    assert spec.SPOT_FEED_ID in registry.price_sources()
    assert spec.SPOT_FEED_ID in registry.spot_feed_ids()


def test_the_spot_feed_follows_the_spot_server_through_a_gap():
    with running_server(spec.SPOT_FEED_ID) as server:
        async def scenario() -> tuple[list[Any], int]:
            clock = LiveClock()
            feed = GateSpotFeed(GateRestClient(server.rest_url, clock=clock), ws_url=server.ws_url, clock=clock)
            events: list[Any] = []
            await feed.prepare(["BTC-USDT"])
            assert feed.trading_rules("BTC-USDT").step_size == Decimal("0.001")
            await feed.start(["BTC-USDT"], events.append)
            try:
                async def until(done: Any) -> None:
                    for _ in range(300):
                        if done():
                            return
                        await asyncio.sleep(0.05)
                    raise AssertionError(f"not reached; last events {events[-5:]}")

                await until(lambda: any(isinstance(e, BookDelta) for e in events))
                server.call(lambda: server.server.faults.skip_depth_update_ids(2))
                await until(lambda: any(isinstance(e, BookResyncRequired) and "gap" in e.reason for e in events))
                await until(lambda: feed.book("BTC-USDT").live and feed.book("BTC-USDT").snapshots >= 2)
                await until(lambda: any(isinstance(e, Trade) for e in events))
                return events, feed.book("BTC-USDT").snapshots
            finally:
                await feed.stop()

        events, snapshots = asyncio.run(scenario())
    assert snapshots >= 2 and sum(isinstance(e, BookSnapshot) for e in events) >= 2


def test_exchange_sim_serves_gate_spot():
    proc, _line, base = serve_cli(spec.SPOT_FEED_ID)
    try:
        with urllib.request.urlopen(f"{base}{spec.SPOT_PAIRS_PATH}/BTC_USDT", timeout=10) as resp:
            assert json.loads(resp.read())["id"] == "BTC_USDT"
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
