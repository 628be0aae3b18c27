"""`pmm start` on a live connector against that venue's server on loopback (every venue of the
registry with a server): quotes, fills, takes profit,
positions, funding; history/status/balance agree with the
venue's account to the last decimal."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from helpers import check_funding, db_url, write_config
from pmm.app import StartOptions, run_bot
from pmm.cli import app
from pmm.config import load_config
from pmm.core.model import OrderPurpose
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.store.performance import ledger_difference
from venue_servers import VENUES as SERVED
from venue_servers import credentials_env, running_server

VENUES = list(SERVED)
RUN_S = 25.0


def _config(tmp_path, venue: str, server) -> object:
    path = write_config(
        tmp_path, derivative=venue, order_refresh_time=3, filled_order_delay=1, bid_spread=0.01, ask_spread=0.01,
        long_profit_taking_spread=0.02, short_profit_taking_spread=0.02, stop_loss_spread=0.1,
        time_between_stop_loss_orders=3, connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")
    return load_config(path)


@pytest.mark.parametrize("venue", VENUES)
def test_start_against_the_venue_server_trades_and_keeps_an_exact_ledger(venue, tmp_path, monkeypatch):
    for key, value in credentials_env(venue).items():
        monkeypatch.setenv(key, value)
    url = db_url(tmp_path)
    with running_server(venue) as server:
        start_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        config = _config(tmp_path, venue, server)
        result = asyncio.run(run_bot(config, StartOptions(db_url=url, duration_s=RUN_S),
                                     install_signal_handlers=False))
        assert result.fills > 0, "the bot must get fills on a busy market"
        venue_fills = server.call(lambda: server.exchange.fills_since(0))
        venue_funding = server.call(lambda: server.exchange.funding_payments_since(0))
        end_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        open_at_venue = server.call(lambda: server.exchange.open_orders())
        balance_out = CliRunner().invoke(app, ["balance", "--derivative", venue, "-c", str(config.path), "--json",
                                               "--db", url])
    db = open_engine(url)
    fills = queries.fills(db)
    funding = queries.funding_payments(db)
    # Nothing lost, nothing duplicated, nothing left resting.
    # (The venue's own trade ids are its wire format; the executions themselves must match one to one.)
    def executions(rows):
        return sorted((str(f.side), f.price, f.amount, f.fee, f.realized_pnl) for f in rows)

    assert len(fills) == len(venue_fills)
    assert executions(fills) == executions(venue_fills)
    assert funding, "the run must hold a position at a funding time"
    purposes = {order.purpose for order in (queries.get_order(db, f.client_id) for f in fills) if order is not None}
    assert OrderPurpose.TAKE_PROFIT in purposes, f"the bot must take profit on its position; filled: {purposes}"
    # The run stops RUN_S after it started trading: after its recorded start.
    late = check_funding(funding, venue_funding, queries.latest_run(db).started_ts + RUN_S)
    assert open_at_venue == []
    assert ledger_difference(start_wallet, end_wallet, fills, funding) == sum((p.amount for p in late), Decimal(0))
    # The commands show it.
    runner = CliRunner()
    history = json.loads(runner.invoke(app, ["history", "--json", "--db", url]).output)
    assert history["markets"][0]["venue"] == venue and history["markets"][0]["fills"] == len(fills)
    status = json.loads(runner.invoke(app, ["status", "--json", "--funding-rate", "--db", url]).output)
    assert status["run"]["connector"] == venue and status["status"]["funding"]["mark_price"]
    assert balance_out.exit_code == 0, balance_out.output
    usdt = next(b for b in json.loads(balance_out.output)["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["total"]) == end_wallet
