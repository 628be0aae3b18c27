"""KuCoin spot market data as a price source: `KucoinSpotFeed` against the KuCoin spot server
(rules, the level2 sequence from the REST snapshot, a gap read again, trades), the spot answers
parsed from KuCoin's documented examples, and `pmm exchange-sim kucoin -c CONFIG` serving it keyless."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from decimal import Decimal as D
from typing import Any

import pytest
from venue_servers import busy_market, serve_cli, stop_cli

from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient
from pmm.connectors.kucoin_perpetual.server import KucoinSpotServer
from pmm.connectors.kucoin_perpetual.spot_feed import KucoinSpotFeed, parse_spot_rules
from pmm.core.clock import LiveClock
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, Trade
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange

M = "BTC-USDT"
# GET /api/v2/symbols/BTC-USDT as documented (kucoin-universal-sdk spot market example).
DOC_SYMBOL = ('{"symbol":"BTC-USDT","name":"BTC-USDT","baseCurrency":"BTC","quoteCurrency":"USDT","feeCurrency":"USDT",'
              '"market":"USDS","baseMinSize":"0.00001","quoteMinSize":"0.1","baseMaxSize":"10000000000",'
              '"quoteMaxSize":"99999999","baseIncrement":"0.00000001","quoteIncrement":"0.000001",'
              '"priceIncrement":"0.1","priceLimitRate":"0.1","minFunds":"0.1","isMarginEnabled":true,'
              '"enableTrading":true}')


def test_the_documented_spot_symbol_gives_the_rules():
    rules = parse_spot_rules(decode_json(DOC_SYMBOL), M)
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == (
        D("0.1"), D("0.00000001"), D("0.00001"), D("0.1"))
    with pytest.raises(ConfigError, match="does not list `ETH-USDT`"):
        parse_spot_rules(decode_json(DOC_SYMBOL), "ETH-USDT")


def test_the_spot_feed_follows_the_level2_sequence_and_reads_the_book_again_on_a_gap():
    async def scenario() -> None:
        exchange = SimExchange(busy_market())
        server = KucoinSpotServer(exchange, clock=LiveClock())
        await server.start()
        clock = LiveClock()
        rest = KucoinRestClient(server.rest_url, clock=clock)
        feed = KucoinSpotFeed(rest, clock=clock)
        events: list[Any] = []

        async def until(predicate: Any, timeout: float = 15.0) -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while not predicate():
                assert asyncio.get_running_loop().time() < deadline, events[-5:]
                await asyncio.sleep(0.02)

        try:
            await feed.prepare([M])
            assert feed.trading_rules(M).tick_size == exchange.trading_rules(M).tick_size
            with pytest.raises(ConfigError):
                await feed.prepare(["DOGE-USDT"])
            await feed.start([M], events.append)
            await until(lambda: [e for e in events if isinstance(e, BookSnapshot)]
                        and len([e for e in events if isinstance(e, BookDelta)]) > 5
                        and [e for e in events if isinstance(e, Trade)])
            snapshots = len([e for e in events if isinstance(e, BookSnapshot)])
            server.faults.skip_depth_update_ids(3)
            await until(lambda: len([e for e in events if isinstance(e, BookResyncRequired)]) >= 2)
            assert "spot order book gap" in [e for e in events if isinstance(e, BookResyncRequired)][-1].reason
            await until(lambda: len([e for e in events if isinstance(e, BookSnapshot)]) > snapshots
                        and feed.book(M).live)
            resynced_at = feed.book(M).last_seq
            await until(lambda: feed.book(M).last_seq > resynced_at)  # and it follows the stream again
            assert feed.book(M).last_seq <= server.sequence[M]
        finally:
            await feed.stop()
            await rest.close()
            await server.stop()
            exchange.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_exchange_sim_serves_kucoin_spot_market_data_without_keys():
    proc, line, base = serve_cli("kucoin", "-c", "configs/spot_price_source.yml")
    try:
        assert "public market data only, no keys" in line and "API key" not in line
        with urllib.request.urlopen(f"{base}/api/v1/market/orderbook/level2_20?symbol=SOL-USDT", timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["code"] == "200000" and body["data"]["bids"] and int(body["data"]["sequence"]) > 0
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_bot_on_kucoin_quotes_around_the_kucoin_spot_price_source(tmp_path, monkeypatch):
    """`price_source_derivative: kucoin`: the bot on the KuCoin server quotes around KuCoin spot's mid."""
    from helpers import db_url, write_config
    from venue_servers import credentials_env, running_server

    from pmm.app import StartOptions, run_bot
    from pmm.config import load_config
    from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

    def static(bid: str, ask: str) -> SimSettings:
        book = StaticMarket(bids=((D(bid), D("500")),), asks=((D(ask), D("500")),))
        return SimSettings(markets=(SimMarketSettings("SOL-USDT", book, tick_size=D("0.01"), step_size=D("0.01"),
                                                      min_size=D("0.01")),))

    for key, value in credentials_env("kucoin_perpetual").items():
        monkeypatch.setenv(key, value)
    with running_server("kucoin_perpetual", static("149.80", "149.90")) as perp, \
            running_server("kucoin", static("149.99", "150.01")) as spot:
        connector = (f"{{rest_url: '{perp.rest_url}', ws_url: '{perp.ws_url}', price_source_rest_url: "
                     f"'{spot.rest_url}', price_source_ws_url: '{spot.ws_url}'}}")
        config = load_config(write_config(tmp_path, "spot_price_source.yml", derivative="kucoin_perpetual",
                                          price_source_derivative="kucoin", connector=connector))

        async def first_quotes() -> list[Any]:
            engines: list[Any] = []
            task = asyncio.create_task(run_bot(config, StartOptions(db_url=db_url(tmp_path)),
                                               on_engine=engines.append, install_signal_handlers=False))
            deadline = asyncio.get_running_loop().time() + 60
            try:
                while True:
                    if task.done():
                        task.result()
                        raise AssertionError("the bot stopped before quoting")
                    orders = await asyncio.to_thread(perp.call, lambda: perp.exchange.open_orders())
                    if len(orders) >= 2 or asyncio.get_running_loop().time() > deadline:
                        return orders
                    await asyncio.sleep(0.2)
            finally:
                if engines:
                    engines[0].request_stop("test done")
                await asyncio.wait_for(task, 60)

        orders = asyncio.run(first_quotes())
    # reference = spot mid 150.00: bid 150 x (1 - 0.2 %) = 149.70, ask 150 x (1 + 0.2 %) = 150.30
    assert sorted(o.price for o in orders) == [D("149.70"), D("150.30")]
