"""`price_source: external_market` from another connector (Binance's spot market here) and a
second simulated market: while the source is not ready the bot says so in `status` and in the log
every minute, with what it waits for; it quotes around the source once its book is there, and pulls
its quotes when the source goes away again."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from helpers import db_url, run_fast, write_config
from pmm.app import StartOptions, run_bot
from pmm.config import load_config
from pmm.core.model import Side
from pmm.errors import ConfigError
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket
from pmm.store import queries
from pmm.store.db import open_engine
from venue_servers import credentials_env, running_server

D = Decimal
SOURCE_WAIT = "price source not ready: BTC-USDT-INDEX on sim_perpetual: waiting for the first order book snapshot"


def _delayed_index(tmp_path: Path, first_book_after_s: int) -> Path:
    """A replay market whose first order book arrives `first_book_after_s` after the start."""
    start = 1_767_225_600
    lines = [{"type": "mark", "ts": start, "mark_price": "65000"},
             {"type": "snapshot", "ts": start + first_book_after_s, "bids": [["64999.0", "2"]],
              "asks": [["65001.0", "2"]]}]
    path = tmp_path / "index.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _index_config(tmp_path: Path, first_book_after_s: int) -> Path:
    """BTC-USDT (a fixed book) quoted around BTC-USDT-INDEX, whose book comes late."""
    replay = _delayed_index(tmp_path, first_book_after_s)
    path = tmp_path / "late_index.yml"
    path.write_text(f"""\
derivative: sim_perpetual
market: BTC-USDT
leverage: 5
bid_spread: 0.08
ask_spread: 0.08
order_amount: 0.01
order_refresh_time: 10
price_source: external_market
price_source_derivative: sim_perpetual
price_source_market: BTC-USDT-INDEX
sim:
  markets:
    BTC-USDT:
      generator: {{type: static, bids: [[64990, 1]], asks: [[65010, 1]]}}
    BTC-USDT-INDEX:
      generator: {{type: replay, path: '{replay}'}}
""")
    return path


def test_a_source_that_is_not_ready_is_reported_in_status_and_every_minute(tmp_path, caplog):
    url = db_url(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pmm.engine"):
        run_fast(_index_config(tmp_path, first_book_after_s=900), url, 400.0)
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("no reference price")]
    assert waits == [f"no reference price for {s} s, not quoting: price source BTC-USDT-INDEX on sim_perpetual: "
                     "waiting for the first order book snapshot" for s in (60, 120, 180, 240, 300, 360)]
    db = open_engine(url)
    run = queries.latest_run(db)
    status = queries.latest_status(db, run.run_id).data()
    assert status["last_decision_reason"] == SOURCE_WAIT
    source = status["markets"][1]
    assert (source["connector"], source["market"], source["book_ready"]) == ("sim_perpetual", "BTC-USDT-INDEX", False)
    assert source["waiting_for"] == "BTC-USDT-INDEX on sim_perpetual: waiting for the first order book snapshot"
    assert queries.order_events(db, run_id=run.run_id) == []


def test_quoting_starts_when_the_source_book_arrives_and_the_minute_reports_stop(tmp_path, caplog):
    url = db_url(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pmm.engine"):
        run_fast(_index_config(tmp_path, first_book_after_s=150), url, 400.0)
    waits = [r for r in caplog.records if r.getMessage().startswith("no reference price")]
    assert len(waits) == 2  # at 60 s and 120 s; none once the book is there
    db = open_engine(url)
    placed = [queries.get_order(db, e.client_id) for e in queries.order_events(db, run_id=queries.latest_run(db).run_id)]
    buys = {o.price for o in placed if o is not None and o.side is Side.BUY and str(o.purpose) == "quote"}
    assert buys == {D("64948.0")}  # 65000 (the index's mid) - 0.08%


def test_fast_runs_refuse_a_live_price_source(tmp_path):
    path = write_config(tmp_path, "sim_external_price.yml", price_source_derivative="binance",
                        price_source_market="SOL-USDT")
    with pytest.raises(ConfigError, match="--fast runs a virtual clock") as err:
        run_fast(path, db_url(tmp_path), 10.0)
    assert err.value.exit_code == 2


# --- a live spot source on loopback -----------------------------------------------------------------------


def _static(market: str, bid: str, ask: str) -> SimSettings:
    book = StaticMarket(bids=((D(bid), D("500")),), asks=((D(ask), D("500")),))
    return SimSettings(markets=(SimMarketSettings(market, book, tick_size=D("0.01"), step_size=D("0.01"),
                                                  min_size=D("0.01")),))


def _spot_config(tmp_path: Path, perp: Any, spot: Any, market: str = "SOL-USDT") -> Any:
    connector = (f"{{rest_url: '{perp.rest_url}', ws_url: '{perp.ws_url}', price_source_rest_url: "
                 f"'{spot.rest_url}', price_source_ws_url: '{spot.ws_url}'}}")
    return load_config(write_config(tmp_path, "spot_price_source.yml", price_source_market=market,
                                    connector=connector))


async def _until(predicate: Any, what: str, timeout: float = 90.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout:g} s: {what}")
        await asyncio.sleep(0.2)


def test_a_spot_source_that_is_down_is_reported_and_its_quotes_are_pulled(tmp_path, monkeypatch):
    for key, value in credentials_env("binance_perpetual").items():
        monkeypatch.setenv(key, value)
    url = db_url(tmp_path)

    def status() -> dict[str, Any] | None:
        db = open_engine(url)
        try:
            run = queries.latest_run(db)
            snapshot = queries.latest_status(db, run.run_id) if run is not None else None
            return snapshot.data() if snapshot is not None else None
        finally:
            db.dispose()

    def waiting_for(text: str) -> bool:
        current = status()
        return bool(current and current["state"] == "running" and text in current["reason"])

    async def scenario(perp: Any, spot: Any) -> None:
        engines: list[Any] = []
        block = lambda: spot.server.faults.fail_next("/ws", 503, count=10_000)  # noqa: E731
        spot.call(block)  # the spot stream cannot connect: no book
        task = asyncio.create_task(run_bot(_spot_config(tmp_path, perp, spot), StartOptions(db_url=url),
                                           on_engine=engines.append, install_signal_handlers=False))
        try:
            await _until(lambda: waiting_for("price source not ready: SOL-USDT on binance: starting: waiting for "
                                             "the first order book snapshot"), "status says what it waits for")
            current = status()
            assert current is not None and current["quoting"] is False
            assert current["markets"][1]["connector"] == "binance" and current["markets"][1]["book_ready"] is False
            assert await asyncio.to_thread(perp.call, lambda: perp.exchange.open_orders()) == []
            spot.call(spot.server.faults.clear)
            orders = await _until(lambda: perp.call(lambda: perp.exchange.open_orders()), "quotes at the venue")
            # around the spot mid (150.00), not the perpetual's (149.85): 150.00 -/+ 0.2%
            assert sorted((o.side.value, o.price) for o in orders) == [("buy", D("149.70")), ("sell", D("150.30"))]
            spot.call(block)
            assert spot.call(lambda: spot.server.faults.drop_sockets("market")) == 1
            await _until(lambda: not perp.call(lambda: perp.exchange.open_orders()), "quotes pulled")
            await _until(lambda: waiting_for("price source not ready: SOL-USDT on binance: depth stream "
                                             "disconnected"), "status says the source is down")
        finally:
            if engines:
                engines[0].request_stop("test done")
            await asyncio.wait_for(task, 60)

    with running_server("binance_perpetual", _static("SOL-USDT", "149.80", "149.90")) as perp, \
            running_server("binance", _static("SOL-USDT", "149.99", "150.01")) as spot:
        asyncio.run(scenario(perp, spot))


def test_an_unlisted_source_market_is_a_config_error_at_start(tmp_path, monkeypatch):
    for key, value in credentials_env("binance_perpetual").items():
        monkeypatch.setenv(key, value)
    with running_server("binance_perpetual", _static("SOL-USDT", "149.80", "149.90")) as perp, \
            running_server("binance", _static("SOL-USDT", "149.99", "150.01")) as spot:
        config = _spot_config(tmp_path, perp, spot, market="XRP-USDT")
        with pytest.raises(ConfigError, match="Binance spot does not list `XRPUSDT`") as err:
            asyncio.run(run_bot(config, StartOptions(db_url=db_url(tmp_path)), install_signal_handlers=False))
    assert err.value.exit_code == 2
