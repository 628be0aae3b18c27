"""Reference price from a custom API (local HTTP server) and from a second simulated market."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from aiohttp import web

from helpers import db_url, run_fast, write_config
from pmm.app import StartOptions, run_bot
from pmm.config import load_config
from pmm.engine.custom_api import parse_price
from pmm.store import queries
from pmm.store.db import open_engine


@pytest.mark.parametrize("body", ["abc", "nan", "NaN", "-5", "0", "inf", "", "1e999999999", "65000,5"])
def test_garbage_prices_are_not_ready(body):
    price, reason = parse_price(body)
    assert price is None
    assert "custom API answered" in reason


def test_a_plain_number_is_a_price():
    assert parse_price(" 65000.5\n") == (Decimal("65000.5"), "custom API price")


async def _run_with_server(tmp_path, body: str, seconds: float):
    async def price(_request):
        return web.Response(text=body)

    app = web.Application()
    app.router.add_get("/price", price)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        cfg = load_config(write_config(tmp_path, "sim_custom_api.yml",
                                       price_source_custom_api=f"http://127.0.0.1:{port}/price",
                                       custom_api_update_interval=0.5))
        url = db_url(tmp_path)
        await run_bot(cfg, StartOptions(db_url=url, duration_s=seconds), install_signal_handlers=False)
    finally:
        await runner.cleanup()
    db = open_engine(url)
    run = queries.latest_run(db)
    orders = queries.order_events(db, run_id=run.run_id)
    placed = {o.client_id: queries.get_order(db, o.client_id) for o in orders}
    return queries.latest_status(db, run.run_id).data(), list(placed.values())


def test_quotes_follow_the_custom_api_price(tmp_path):
    # The API says 60000 while the simulated market trades near 65000: quotes must sit around 60000.
    status, orders = asyncio.run(_run_with_server(tmp_path, "60000", 3.0))
    quotes = [o for o in orders if str(o.purpose) == "quote"]
    assert quotes, "the bot must quote from the custom API price"
    buys = [o.price for o in quotes if str(o.side) == "buy"]
    assert buys and all(Decimal("59900") < p < Decimal("60000") for p in buys)
    assert status["markets"][0]["ref_price_type"] == "custom"


def test_garbage_from_the_custom_api_stops_quoting_with_the_reason(tmp_path):
    status, orders = asyncio.run(_run_with_server(tmp_path, "not-a-price", 2.5))
    assert orders == []
    assert "not a number" in status["last_decision_reason"]


def test_external_market_price_source_quotes_around_the_other_market(tmp_path):
    url = db_url(tmp_path)
    run_fast(write_config(tmp_path, "sim_external_price.yml"), url, 1800.0)
    db = open_engine(url)
    run = queries.latest_run(db)
    status = queries.latest_status(db, run.run_id).data()
    assert [m["market"] for m in status["markets"]] == ["BTC-USDT", "BTC-USDT-INDEX"]
    events = queries.order_events(db, run_id=run.run_id)
    assert events, "the bot must quote from the external market's mid price"
