"""The `bitget` price source: Bitget spot public market data, read by `BitgetSpotFeed` from the
spot server (`pmm exchange-sim bitget`), and the spot rules from Bitget's documented payload."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest
from venue_servers import busy_market

from pmm.connectors import registry
from pmm.connectors.bitget_perpetual.server.spot import BitgetSpotServer
from pmm.connectors.bitget_perpetual.spot_feed import BitgetSpotFeed, parse_spot_rules
from pmm.core.clock import LiveClock
from pmm.core.events import BookSnapshot, FundingInfoUpdated, Trade
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange

FIXTURES = Path(__file__).parent / "fixtures"


def test_spot_rules_from_the_documented_symbols_payload():
    rows = json.loads((FIXTURES / "rest_spot_symbols.json").read_text())["data"]
    rules = parse_spot_rules(rows, "BTC-USDT")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (D("0.01"), D("0.000001"),
                                                                                      D("0.000001"), D("1"))
    with pytest.raises(ConfigError, match="does not list `ETHUSDT`"):
        parse_spot_rules(rows, "ETH-USDT")
    with pytest.raises(ConfigError, match="not trading"):
        parse_spot_rules([{**rows[0], "status": "offline"}], "BTC-USDT")


def test_the_bitget_price_source_reads_the_spot_server():
    async def scenario() -> None:
        exchange = SimExchange(busy_market())
        server = BitgetSpotServer(exchange)
        await server.start()
        config = SimpleNamespace(connector=SimpleNamespace(price_source_rest_url=server.rest_url,
                                                           price_source_ws_url=server.ws_url))
        feed = registry.build_price_feed("bitget", config, LiveClock())
        assert isinstance(feed, BitgetSpotFeed)
        events: list[object] = []
        try:
            await feed.prepare(["BTC-USDT"])
            venue = exchange.trading_rules("BTC-USDT")
            rules = feed.trading_rules("BTC-USDT")
            assert (rules.tick_size, rules.step_size, rules.min_notional) == (venue.tick_size, venue.step_size,
                                                                             venue.min_notional)
            await feed.start(["BTC-USDT"], events.append)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not (any(isinstance(e, BookSnapshot) for e in events) and any(isinstance(e, Trade) for e in events)):
                assert loop.time() < deadline, events[-5:]
                await asyncio.sleep(0.05)
            snapshot = next(e for e in events if isinstance(e, BookSnapshot))
            assert snapshot.bids and snapshot.asks and snapshot.bids[0][0] < snapshot.asks[0][0]
            assert not any(isinstance(e, FundingInfoUpdated) for e in events)  # spot has no funding
            with pytest.raises(ConfigError, match="does not list `NOPEUSDT`"):
                await feed.prepare(["NOPE-USDT"])
        finally:
            await feed.stop()
            await server.stop()
            exchange.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
