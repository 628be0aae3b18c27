"""`exchange_stop_loss` with the bot as a process against the Bybit-dialect venue: with a position
open the bot rests a reduce-only stop at the stop-loss trigger; killed (`kill -9`), its quotes go
with Bybit's DCP but the stop stays, and when the mark falls through it the venue closes the
position by itself."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from decimal import Decimal

from helpers import REPO, db_url, write_config
from test_dead_man_switch_bybit import Bot, history, wait_for
from venue_servers import API_KEY, API_SECRET, ServerThread, credentials_env, running_server

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import FundingInfoUpdated
from pmm.core.model import FundingInfo, PositionSide, Side, floor_to
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

D = Decimal
MARKET = "BTC-USDT"


def still_market() -> SimSettings:
    """A book that never moves and no market trades: nothing but the test moves the price."""
    book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                        asks=((D("65010"), D("1")), (D("65020"), D("2"))),
                        mark_price=D("65000"), funding_rate=D("0.0001"))
    return SimSettings(markets=(SimMarketSettings(MARKET, book),), balances={"USDT": D("10000")},
                       funding_interval_s=3600.0)


async def open_long(server: ServerThread, qty: str) -> None:
    """A position opened on the account before the bot starts (as by the user or an earlier run)."""
    clock = LiveClock()
    rest = BybitRestClient(server.rest_url, clock=clock, auth=BybitAuth(API_KEY, API_SECRET, clock))
    try:
        await rest.post(c.ORDER_CREATE_PATH, {"category": c.CATEGORY_LINEAR, "symbol": "BTCUSDT", "side": "Buy",
                                              "orderType": "Market", "qty": qty, "orderLinkId": "by-hand-1"},
                        order_call=True, what="open a long")
    finally:
        await rest.close()


def test_the_resting_stop_closes_the_position_after_the_bot_is_killed(tmp_path):
    with running_server("bybit_perpetual", still_market()) as server:
        asyncio.run(open_long(server, "0.02"))
        wait_for(server, lambda s: s.exchange.positions())
        (pos,) = server.call(lambda: server.exchange.positions())
        assert pos.side is PositionSide.LONG and pos.amount == D("0.02")
        cfg = write_config(tmp_path, derivative="bybit_perpetual", order_refresh_time=60,
                           exchange_stop_loss="true", stop_loss_spread=1, long_profit_taking_spread=5,
                           risk="{dead_man_switch_s: 3}",
                           connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")
        env = dict(os.environ, **credentials_env("bybit_perpetual"))
        proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--plain",
                                 "--db", db_url(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            b = Bot(proc)
            b.read_until(lambda out: "exchange-side stop" in out and "resting" in out)
            (stop,) = server.call(lambda: server.server.stops.triggers.live(MARKET))
            # Hummingbot's stop-loss trigger: entry x (1 - 1%), down to the 0.1 tick, on the mark.
            assert stop.trigger_price == floor_to(pos.entry_price * D("0.99"), D("0.1"))
            assert (stop.reduce_only, stop.rising, stop.side, stop.trigger_on.value) == (
                True, False, Side.SELL, "mark")
            wait_for(server, lambda s: s.dcp.guarded() == 1)

            proc.send_signal(signal.SIGKILL)  # no chance to do anything itself
            proc.wait(timeout=10)
            wait_for(server, lambda s: "fired" in [what for what, _, _ in s.dcp.history], timeout=60)
            assert "fired" in history(server)
            # DCP cancels active orders only: the conditional stop is still resting.
            assert len(server.call(lambda: server.server.stops.triggers.live(MARKET))) == 1
            assert server.call(lambda: server.exchange.positions())

            def mark_falls() -> None:
                now = server.server.clock.now()
                server.server.stops.on_public(FundingInfoUpdated(
                    FundingInfo(MARKET, D("64000"), D("64000"), D("0.0001"), now + 3600), now, now))

            server.call(mark_falls)
            wait_for(server, lambda s: not s.exchange.positions(), timeout=30)
            assert server.call(lambda: server.server.stops.triggers.live(MARKET)) == []
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
