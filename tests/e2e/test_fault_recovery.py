"""The whole bot on a live connector while its venue server injects faults mid-run.

Each run must end with: the book resynced, the account reconciled, no lost or duplicated fill in
the store, no order of ours left resting at the venue, and the ledger equal to the venue's
account to the last decimal.
"""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from helpers import check_funding, db_url, write_config
from pmm.app import StartOptions, run_bot
from pmm.config import load_config
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.store.performance import ledger_difference
from venue_servers import credentials_env, running_server

ORDER_PATH = {"binance_perpetual": "/fapi/v1/order", "bybit_perpetual": "/v5/order/create",
              "okx_perpetual": "/api/v5/trade/order"}
REJECT_CODE = {"binance_perpetual": -2019, "bybit_perpetual": 110007, "okx_perpetual": 51008}  # insufficient margin
RECOVERY_S = 8.0  # after the last injection, before the bot is asked to stop
MAX_RUN_S = 120.0  # a bound only: the injector stops the run


def _faults(venue: str):
    """(seconds after start, what, action on the FaultInjector)."""
    order_path = ORDER_PATH[venue]
    return [
        (4.0, "skip a depth update id", lambda f: f.skip_depth_update_ids(1)),
        (7.0, "drop every socket", lambda f: f.drop_sockets("all")),
        (10.0, "answer 503 on an order but execute it", lambda f: f.fail_next(order_path, 503, execute=True)),
        (13.0, "reject the next order", lambda f: f.reject_next_order(REJECT_CODE[venue])),
        (16.0, "expire the private stream", lambda f: f.expire_listen_key()),
        (19.0, "rate limit an order call", lambda f: f.fail_next(order_path, 429, retry_after=1)),
        (22.0, "slow order answers", lambda f: f.add_latency(0.3, order_path)),
    ]


@pytest.mark.parametrize("venue", ["binance_perpetual", "bybit_perpetual", "okx_perpetual"])
def test_bot_recovers_from_injected_faults_with_an_exact_ledger(venue, tmp_path, monkeypatch):
    for key, value in credentials_env(venue).items():
        monkeypatch.setenv(key, value)
    url = db_url(tmp_path)
    injected: list[str] = []
    with running_server(venue) as server:
        start_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        config = load_config(write_config(
            tmp_path, derivative=venue, order_refresh_time=2, filled_order_delay=1, bid_spread=0.01,
            ask_spread=0.01, long_profit_taking_spread=0.02, short_profit_taking_spread=0.02,
            connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}"))

        errors: list[str] = []
        engines: list[Any] = []
        loop_of_bot: list[asyncio.AbstractEventLoop] = []
        stop_requested: list[float] = []

        def on_engine(engine: Any) -> None:
            engines.append(engine)
            loop_of_bot.append(asyncio.get_running_loop())

        def inject() -> None:
            deadline = time.monotonic() + 60
            while not engines and time.monotonic() < deadline:  # the fault timeline starts with the bot
                time.sleep(0.05)
            t0 = time.monotonic()
            try:
                for at, what, action in _faults(venue):
                    time.sleep(max(0.0, at - (time.monotonic() - t0)))
                    server.call(lambda a=action: a(server.server.faults))
                    injected.append(what)
            except Exception as exc:  # reported by the assertion below
                errors.append(f"{exc.__class__.__name__}: {exc} at {time.monotonic() - t0:.1f} s")
            # The run lasts until every fault had time to be recovered from, however slow the
            # machine is, rather than a fixed duration the injections might outlast under load.
            time.sleep(RECOVERY_S)
            if engines:
                stop_requested.append(time.time())
                loop_of_bot[0].call_soon_threadsafe(engines[0].request_stop, "every fault injected")

        threading.Thread(target=inject, daemon=True).start()
        result = asyncio.run(run_bot(config, StartOptions(db_url=url, duration_s=MAX_RUN_S), on_engine=on_engine,
                                     install_signal_handlers=False))
        venue_fills = server.call(lambda: server.exchange.fills_since(0))
        venue_funding = server.call(lambda: server.exchange.funding_payments_since(0))
        end_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        open_at_venue = server.call(lambda: server.exchange.open_orders())
    assert len(injected) == len(_faults(venue)), f"only injected {injected}; {errors}; run: {result.reason}"
    assert result.fills > 0
    db = open_engine(url)
    fills, funding = queries.fills(db), queries.funding_payments(db)

    def executions(rows):
        return sorted((str(f.side), f.price, f.amount, f.fee, f.realized_pnl) for f in rows)

    assert executions(fills) == executions(venue_fills), "a fill was lost, duplicated or invented"
    late = check_funding(funding, venue_funding, stop_requested[0] if stop_requested else time.time())
    assert open_at_venue == [], "an order of ours was left resting at the venue"
    assert ledger_difference(start_wallet, end_wallet, fills, funding) == sum((p.amount for p in late), Decimal(0))
    run = queries.latest_run(db)
    assert queries.open_orders(db, run.run_id) == []
